// A tiny history-API router: the current path as state, navigate(), and in-app link clicks.

class Router {
  path = $state(location.pathname);
  search = $state(location.search);

  constructor() {
    window.addEventListener('popstate', () => this.sync());
  }

  private sync(): void {
    this.path = location.pathname;
    this.search = location.search;
  }

  navigate(to: string, opts: { replace?: boolean } = {}): void {
    const url = new URL(to, location.href);
    if (url.pathname + url.search === location.pathname + location.search) return;
    if (opts.replace) history.replaceState(null, '', url);
    else history.pushState(null, '', url);
    this.sync();
  }

  /** onclick for same-origin <a href> links: plain left clicks stay in the app. */
  link = (event: MouseEvent): void => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const a = event.currentTarget;
    if (!(a instanceof HTMLAnchorElement) || a.origin !== location.origin || a.target) return;
    event.preventDefault();
    this.navigate(a.pathname + a.search);
  };
}

export const router = new Router();
