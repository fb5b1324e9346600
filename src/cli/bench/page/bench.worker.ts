/**
 * The engine worker of `cria bench`: the app's engine worker exactly
 * (src/worker/engine.worker.ts), with the GPU memory probe installed first.
 */
import './gpu-memory.ts';
import '../../../worker/engine.worker.ts';
