/** The job child of the production worker: the real pipeline, the same function `run` calls. */
import { runPipeline } from '../pipeline/index.js';
import { createProcessor } from './processor.js';

createProcessor(runPipeline);
