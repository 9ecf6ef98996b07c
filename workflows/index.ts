export * from './session';
export * from './delivery';
export * from './conversion-decision';
