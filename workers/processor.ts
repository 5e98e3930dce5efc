/** The sandboxed processor file of the production worker: the real pipeline, the same function `run` calls. */
import { runPipeline } from '../src/pipeline/index.js';
import { createProcessor } from '../src/queue/processor.js';

export default createProcessor(runPipeline);
