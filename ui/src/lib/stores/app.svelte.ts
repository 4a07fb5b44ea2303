// What the window as a whole shows: app info, settings, the gateway's status, the current page,
// the theme and the language.

import {
  appInfo,
  asIpcError,
  getSettings,
  getStatus,
  onStatus,
  saveSettings,
  type AppInfo,
  type AppSettings,
  type IpcError,
  type StatusView,
} from '../../api';
import { clock } from '../clock.svelte';
import { i18n, localeFor } from '../i18n/index.svelte';

export type Page = 'chat' | 'settings' | 'diagnostics';

export class AppStore {
  info = $state.raw<AppInfo | undefined>(undefined);
  settings = $state.raw<AppSettings | undefined>(undefined);
  status = $state.raw<StatusView | undefined>(undefined);
  page = $state<Page>('chat');
  /** The gateway has been running at least once since the window opened. */
  everRunning = $state(false);
  systemDark = $state(false);
  bannerDismissed = $state(false);
  startError = $state<IpcError | undefined>(undefined);

  async start(): Promise<void> {
    const [info, settings, status] = await Promise.all([appInfo(), getSettings(), getStatus()]);
    this.info = info;
    this.applySettings(settings);
    this.setStatus(status);
    await onStatus((s) => this.setStatus(s));
  }

  setStatus(view: StatusView): void {
    this.status = view;
    if (view.status.phase === 'running') this.everRunning = true;
    clock.touch();
  }

  applySettings(settings: AppSettings): void {
    this.settings = settings;
    i18n.locale = localeFor(settings.language, this.info?.osLocale);
  }

  /** Saves settings; the page follows at once and goes back if Rust refuses. */
  async save(patch: Partial<AppSettings>): Promise<void> {
    const before = this.settings;
    if (!before) return;
    this.applySettings({ ...before, ...patch });
    try {
      this.applySettings(await saveSettings({ ...before, ...patch }));
    } catch (e) {
      this.applySettings(before);
      throw asIpcError(e);
    }
  }

  get dark(): boolean {
    const theme = this.settings?.theme ?? 'system';
    return theme === 'dark' || (theme === 'system' && this.systemDark);
  }
}

export const app = new AppStore();
