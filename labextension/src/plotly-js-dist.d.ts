/** plotly.js-dist ships no types; the renderer declares the part it uses (plotly.ts, `Plotly`). */
declare module 'plotly.js-dist';
