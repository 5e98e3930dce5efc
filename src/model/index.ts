/** Public API of the c*GMΔVÆ model. */
export { pickBackend, parseBackendName, isUsableAdapter, registerTransposingMatMulGradient, BACKEND_ORDER } from './backend.js';
export type { BackendName, BackendChoice, PickBackendOptions, AdapterLike } from './backend.js';
export type { MatrixInput, DenseInput, CsrInput, ConditionInput, LabelInput, ModelInputs } from './data.js';
export { CgmvaeModel, fitModel, selectColumns, seededPermutation, DEFAULTS, MODEL_FORMAT, MODEL_FORMAT_VERSION } from './model.js';
export type { FitCallbacks, FitConfig, FitResult, Prediction, GeneAlignment, ModelMeta, ConditionMeta } from './model.js';
export { TERM_NAMES, LIKELIHOODS } from './module.js';
export type { Likelihood, ModuleConfig, TermName } from './module.js';
export { COMPONENT_PLACEMENTS, STEP_DECAY, THESIS_RATES, learningRate, scheduleEpochs, TrainingDivergedError } from './training.js';
export type { ComponentPlacement, Schedule, EpochReport, TermValues, TrainCallbacks, TrainingResult } from './training.js';
export { lgamma, digamma } from './special.js';
export { thesisBlobs } from './synthetic.js';
export type { Blobs } from './synthetic.js';
