// Forms that keep your work. After a refused post the server sends the page back with what was
// typed and each field's error in words (body[data-refused-form], see server/web/forms.py):
// put every value back into the form that was posted and each error under its field.
// Also: a field marked data-required-when="other=value" is required exactly when it applies.
(function () {
  function formsFor(action) {
    return Array.from(document.forms).filter((form) => {
      try { return new URL(form.action, location.href).pathname === action; } catch (e) { return false; }
    });
  }

  function restore(form, values) {
    for (const element of Array.from(form.elements)) {
      if (!element.name || element.type === 'hidden' || element.type === 'password' || element.type === 'file') continue;
      const value = values[element.name];
      const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
      if (element.type === 'checkbox' || element.type === 'radio') {
        element.checked = list.includes(element.value);
      } else if (element.tagName === 'SELECT' && element.multiple) {
        for (const option of element.options) option.selected = list.includes(option.value);
      } else if (value !== undefined) {
        element.value = list[0];
      }
    }
  }

  function showErrors(form, errors) {
    let first = null;
    for (const [name, messages] of Object.entries(errors)) {
      const field = form.elements.namedItem(name);
      const element = field && (field instanceof RadioNodeList ? field[0] : field);
      const note = document.createElement('p');
      note.className = 'field-error';
      note.setAttribute('role', 'alert');
      note.dataset.testid = `field-error-${name}`;
      note.textContent = messages.join('；');
      if (element && element.type !== 'hidden') {
        const holder = element.closest('label') || element.parentElement;
        holder.classList.add('has-error');
        element.setAttribute('aria-invalid', 'true');
        holder.appendChild(note);
        first = first || element;
      } else {
        form.prepend(note);
      }
    }
    if (first) first.focus({ preventScroll: true });
    (first || form).scrollIntoView({ block: 'center' });
  }

  function requiredWhen() {
    for (const field of document.querySelectorAll('[data-required-when]')) {
      const [name, wanted] = field.dataset.requiredWhen.split('=');
      const other = field.form && field.form.elements.namedItem(name);
      if (!other) continue;
      const update = () => {
        const on = other.value === wanted;
        field.required = on;
        const holder = field.closest('label');
        if (holder) holder.classList.toggle('is-required', on);
      };
      other.addEventListener('change', update);
      update();
    }
  }

  function start() {
    const raw = document.body.dataset.refusedForm;
    if (raw) {
      const state = JSON.parse(raw);
      for (const form of formsFor(state.action)) {
        restore(form, state.values || {});
        showErrors(form, state.errors || {});
      }
    }
    requiredWhen();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
