// The running version, embedded in the bundle at build time (scripts/build.mjs).
declare const __POLARCLOUD_VERSION__: string | undefined;

export const VERSION: string = typeof __POLARCLOUD_VERSION__ === 'string' ? __POLARCLOUD_VERSION__ : '0.0.0-dev';
export const CLIENT_NAME = 'moonraker-polarcloud';
