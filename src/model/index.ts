/** Public API of the c*GMΔVÆ model. */
export { pickBackend, parseBackendName, isUsableAdapter, BACKEND_ORDER } from './backend.js';
export { registerMatMulGradient } from './matmul.js';
export type { BackendName, BackendChoice, PickBackendOptions, AdapterLike } from './backend.js';
export { COMPONENT_PLACEMENTS, FIXED_NETWORK, FIXED_TRAINING, LIKELIHOODS, checkTrainingConfig } from './config.js';
export type { ComponentPlacement, FitConfig, Likelihood, ModuleConfig, NetworkConfig, TrainingConfig } from './config.js';
export type { ConditionInput, LabelInput, ModelInputs } from './data.js';
export { CgmvaeModel, fitModel, MODEL_FORMAT, MODEL_FORMAT_VERSION } from './model.js';
export type { FitCallbacks, FitResult, Prediction, GeneAlignment, ModelMeta, ConditionMeta } from './model.js';
export { TERM_NAMES } from './module.js';
export type { TermName } from './module.js';
export { learningRate, namedSchedule, SCHEDULE_NAMES, STEP_DECAY, THESIS_RATES } from './train/schedule.js';
export type { Schedule, ScheduleName } from './train/schedule.js';
export { TrainingDivergedError } from './train/nan-guard.js';
export type { EpochReport, TrainCallbacks, TrainingResult } from './train/loop.js';
export type { TermValues } from './train/step.js';
export { lgamma, digamma } from './special.js';
