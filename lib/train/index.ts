/** Training: steps, schedules, optimizers, presets (Table 1), configs, the trainer, evaluation, checkpoints. */
export * from './step';
export * from './schedule';
export * from './optimizers';
export * from './presets';
export * from './config';
export * from './state';
export * from './trainer';
export * from './evaluate';
export * from './checkpoint';
