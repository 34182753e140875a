// Step 6: every member of the team (named from the assignment) and the base's representative
// sign on the phone; the representative may refuse (拒签), with a reason that is sealed.
import { attachSignature } from '../../capture/signature.js';
import { t } from '../../i18n.js';
import { h } from '../../ui.js';

/** Render the signatures step; pads attach after layout and are destroyed through addCleanup. */
export function renderSignatures({ draft, save, rerender, addCleanup }) {
  const pads = [];
  const block = (sig, { testid, title, nameLabel, nameTestid, index, extra = null }) => {
    const canvas = h('canvas', { class: 'sig', 'data-testid': testid, role: 'img',
      'aria-label': title, 'data-signed': String(!!sig.sha256) });
    const state = h('span', { class: 'muted' }, sig.sha256 ? t('sign.signed') : t('sign.unsigned'));
    pads.push({ canvas, sig, state });
    const inputId = `sig-name-${index}`;
    return h('section', { class: 'sign', 'data-slot': String(index) },
      h('h3', {}, title),
      h('label', { for: inputId }, nameLabel),
      h('input', { id: inputId, type: 'text', autocomplete: 'off', value: sig.name,
        'data-testid': nameTestid, oninput: (e) => { sig.name = e.target.value; save(); } }),
      h('div', { class: 'row-between' }, h('span', {}, t('sign.here')), state),
      canvas,
      h('button', { type: 'button', class: 'small', onclick: () => pads.find((p) => p.canvas === canvas).pad.clear() },
        t('sign.clear')),
      extra);
  };
  const team = draft.signatures.inspectors.length;
  const base = draft.signatures.base;
  const refusal = h('div', { class: 'refusal' },
    h('label', { class: 'check-row' }, h('input', { type: 'checkbox', 'data-testid': 'base-refused',
      checked: !!base.refused, onchange: (e) => { base.refused = e.target.checked; save(); rerender(); } }),
    ` ${t('sign.base_refused')}`),
    base.refused ? [
      h('label', { for: 'refused-reason' }, t('sign.refused_reason')),
      h('textarea', { id: 'refused-reason', rows: '2', 'data-testid': 'base-refused-reason',
        oninput: (e) => { base.refused_reason = e.target.value; save(); } }, base.refused_reason || ''),
    ] : null);
  const nodes = [
    ...draft.signatures.inspectors.map((sig, i) => block(sig, {
      testid: 'signature-inspector', index: i,
      title: team > 1 ? t('sign.inspector_n', { n: i + 1, name: sig.name || '' }) : t('sign.inspector'),
      nameLabel: t('sign.inspector_name'), nameTestid: 'inspector-name' })),
    base.refused
      ? h('section', { class: 'sign', 'data-slot': 'base' }, h('h3', {}, t('sign.base')),
        h('label', { for: 'sig-name-base' }, t('sign.base_name_optional')),
        h('input', { id: 'sig-name-base', type: 'text', autocomplete: 'off', value: base.name,
          'data-testid': 'base-rep-name', oninput: (e) => { base.name = e.target.value; save(); } }),
        refusal)
      : block(base, { testid: 'signature-base', title: t('sign.base'), nameLabel: t('sign.base_name'),
        nameTestid: 'base-rep-name', index: 'base', extra: refusal }),
  ];
  // The canvases need their layout size before the pads attach.
  requestAnimationFrame(() => {
    for (const entry of pads) {
      entry.pad = attachSignature(entry.canvas, entry.sig, (result) => {
        entry.sig.points = result?.points || null;
        entry.sig.png = result?.png || null;
        entry.sig.sha256 = result?.sha256 || null;
        entry.canvas.dataset.signed = String(!!result);
        entry.state.textContent = result ? t('sign.signed') : t('sign.unsigned');
        save();
      });
      addCleanup(() => entry.pad.destroy());
    }
  });
  return nodes;
}
