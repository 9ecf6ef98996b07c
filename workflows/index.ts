export * from './session';
export * from './delivery';
