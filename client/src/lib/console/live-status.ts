// Reads a LiveVideo's playing state from the outside: LiveVideo shows it as `data-status` on its root
// (idle, connecting, playing, retrying, error) and offers no callback, so a MutationObserver watches it.
import type { Action } from 'svelte/action';

export const liveStatus: Action<HTMLElement, (status: string) => void> = (node, initial) => {
  let report = initial;
  const read = () => {
    const el = node.querySelector('[data-status]');
    report(el?.getAttribute('data-status') ?? 'idle');
  };
  const observer = new MutationObserver(read);
  observer.observe(node, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'] });
  read();
  return {
    update(next) {
      report = next;
    },
    destroy() {
      observer.disconnect();
    },
  };
};
