export * from './dialog-errors.js';
export * from './dialog-methods.js';
export * from './dialog-state.js';
export * from './dialog-request.js';
export * from './guarded-emitter.js';
export * from './sip-dialog.js';
export * from './invite-session.js';
