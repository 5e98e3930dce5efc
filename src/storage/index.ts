export * from './types.js';
export { LocalStorage, createStorage } from './local.js';
