// Step 6: every inspector of the team and the base's representative sign on the phone.
import { attachSignature } from '../../capture/signature.js';
import { t } from '../../i18n.js';
import { h } from '../../ui.js';

/** Render the signatures step; pads attach after layout and are destroyed through addCleanup. */
export function renderSignatures({ draft, save, addCleanup }) {
  const pads = [];
  const block = (sig, testid, label, nameLabel, nameTestid, index) => {
    const canvas = h('canvas', { class: 'sig', 'data-testid': testid, role: 'img',
      'aria-label': label, 'data-signed': String(!!sig.sha256) });
    const state = h('span', { class: 'muted' }, sig.sha256 ? t('sign.signed') : t('sign.empty'));
    pads.push({ canvas, sig, state });
    const inputId = `sig-name-${index}`;
    return h('section', { class: 'sign' },
      h('label', { for: inputId }, nameLabel),
      h('input', { id: inputId, type: 'text', autocomplete: 'off', value: sig.name,
        'data-testid': nameTestid, oninput: (e) => { sig.name = e.target.value; save(); } }),
      h('div', { class: 'row-between' }, h('span', {}, label), state),
      canvas,
      h('button', { type: 'button', class: 'small', onclick: () => pads.find((p) => p.canvas === canvas).pad.clear() },
        t('sign.clear')));
  };
  const nodes = [
    ...draft.signatures.inspectors.map((sig, i) => block(sig, 'signature-inspector', t('sign.inspector'),
      t('sign.inspector_name'), 'inspector-name', i)),
    block(draft.signatures.base, 'signature-base', t('sign.base'), t('sign.base_name'), 'base-rep-name', 'base'),
  ];
  // The canvases need their layout size before the pads attach.
  requestAnimationFrame(() => {
    for (const entry of pads) {
      entry.pad = attachSignature(entry.canvas, entry.sig, (result) => {
        entry.sig.points = result?.points || null;
        entry.sig.png = result?.png || null;
        entry.sig.sha256 = result?.sha256 || null;
        entry.canvas.dataset.signed = String(!!result);
        entry.state.textContent = result ? t('sign.signed') : t('sign.empty');
        save();
      });
      addCleanup(() => entry.pad.destroy());
    }
  });
  return nodes;
}
