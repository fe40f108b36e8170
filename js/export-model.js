// export-model.js: the trained head with its backbone as one model other tools load as it is
// (modelexport in Go, run by the trainer worker): a .zip with a TF.js graph model
// (model.json + weight files; tf.loadGraphModel). Input (N,S,S,3) RGB 0..255, output the class
// probabilities; how to use it: README "Exporting the whole model".
import { download } from './project.js';

/** exportModel asks the trainer for the export of format and saves it as <name>-<format>.zip. */
export async function exportModel(trainer, backboneId, format, name) {
  const bytes = await trainer.call('exportModel', { id: backboneId, format });
  download(new Blob([bytes], { type: 'application/zip' }), `${name}-${backboneId}-${format}.zip`);
  return bytes.byteLength;
}
