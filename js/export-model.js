// export-model.js: the trained head with its backbone as one model other tools load as it is
// (modelexport in Go, run by the trainer worker): a .zip with a TF.js graph model (model.json +
// weight files; tf.loadGraphModel) or an .onnx file (onnxruntime). Input (N,S,S,3) RGB 0..255,
// output the class probabilities; how to use them: README "Exporting the whole model".
import { download } from './project.js';

/** exportModel asks the session's trainer for the export of format ("tfjs" or "onnx") and saves it. */
export async function exportModel(session, backboneId, format, name) {
  const bytes = await session.trainer.exportModel(session.find(backboneId), format);
  const [type, file] = format === 'onnx' ? ['application/octet-stream', `${name}-${backboneId}.onnx`] : ['application/zip', `${name}-${backboneId}-tfjs.zip`];
  download(new Blob([bytes], { type }), file);
  return bytes.byteLength;
}

/** wireExportButtons makes the buttons #export-tfjs and #export-onnx export; status reports. */
export function wireExportButtons(session, getState, status, onError) {
  for (const [format, what] of [['tfjs', 'TF.js (.zip: model.json and weights)'], ['onnx', 'ONNX']]) {
    document.getElementById(`export-${format}`).addEventListener('click', async () => {
      const { backboneId, name } = getState();
      status(`exporting the model for ${what}…`);
      try {
        const n = await exportModel(session, backboneId, format, name);
        status(`model exported for ${what}, ${(n / 1e6).toFixed(1)} MB: image in, probabilities out`);
      } catch (err) {
        status('');
        onError(err.message);
      }
    });
  }
}
