/**
 * lmc-lab's JupyterLab extension: safe mime renderers, ranked above `text/html`, for what the
 * lmc-lab kernel displays: figures (plotly.ts), live training progress (progress.ts), and tensors
 * and masks (tensor.ts). Each draws from its JSON alone, so outputs draw in untrusted notebooks
 * too and none depends on an earlier output.
 */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { PLOTLY_MIME, PlotlyRenderer } from './plotly';
import { PROGRESS_MIME, ProgressRenderer } from './progress';
import { TENSOR_MIME, TensorRenderer } from './tensor';

const extensions: IRenderMime.IExtension[] = [
  {
    id: '@lmc-lab/jupyterlab:plotly',
    description: "Draws lmc-lab's figures from their JSON (application/vnd.plotly.v1+json).",
    rendererFactory: { safe: true, mimeTypes: [PLOTLY_MIME], createRenderer: () => new PlotlyRenderer() },
    // Above text/html (rank 50 and beyond), so the JSON is drawn even where the HTML could run.
    rank: 0,
    dataType: 'json',
  },
  {
    id: '@lmc-lab/jupyterlab:progress',
    description: "Draws lmc-lab's training progress (application/vnd.lmc-lab.progress+json).",
    rendererFactory: { safe: true, mimeTypes: [PROGRESS_MIME], createRenderer: () => new ProgressRenderer() },
    rank: 0,
    dataType: 'json',
  },
  {
    id: '@lmc-lab/jupyterlab:tensor',
    description: "Draws lmc-lab's tensors and pruning masks, heatmap included (application/vnd.lmc-lab.tensor+json).",
    rendererFactory: { safe: true, mimeTypes: [TENSOR_MIME], createRenderer: () => new TensorRenderer() },
    rank: 0,
    dataType: 'json',
  },
];

export default extensions;
