/** The API key of this browser tab: kept in sessionStorage (gone when the tab closes), never in a URL. */
const KEY = 'scgmdvae.apiKey';

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY);
}

export function storeKey(key: string): void {
  sessionStorage.setItem(KEY, key);
}

export function forgetKey(): void {
  sessionStorage.removeItem(KEY);
}
