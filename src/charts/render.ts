import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';

/**
 * Charts as PNG, in-process: a Vega-Lite spec is compiled to Vega, drawn as SVG (no canvas, no
 * browser), and rasterised by resvg with the bundled DejaVu fonts, so a chart looks the same on
 * every machine and in the container. Sized for chat: 640 px wide drawn at twice the density,
 * with large type, because Slack and Discord show images at about 400–600 px.
 */

export const CHART_WIDTH = 640;
export const CHART_HEIGHT = 300;
export const CHART_SCALE = 2;
const FONT = 'DejaVu Sans';

const require = createRequire(import.meta.url);
const fontDir = join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
const fontFiles = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].map((file) => join(fontDir, file));

/** The house style every chart shares: readable at chat size, no chart junk. */
const config = {
  font: FONT,
  background: '#ffffff',
  padding: 12,
  view: { stroke: null },
  axis: { labelFontSize: 14, titleFontSize: 14, labelColor: '#333333', titleColor: '#333333', gridColor: '#e6e6e6', domainColor: '#999999', tickColor: '#999999' },
  legend: { labelFontSize: 14, titleFontSize: 14, orient: 'top', symbolSize: 160 },
  title: { fontSize: 18, anchor: 'start', color: '#111111', offset: 10 },
} as const;

/** Renders a Vega-Lite spec (data inline) to a PNG. */
export async function renderChart(spec: TopLevelSpec): Promise<Buffer> {
  // Loaded on first use: a process that never draws a chart does not carry Vega, and loading Vega
  // before discord.js breaks discord.js's own import (its bundled util.inspect fails at load).
  const [vega, { compile }, { Resvg }] = await Promise.all([import('vega'), import('vega-lite'), import('@resvg/resvg-js')]);
  // "fit" makes the whole picture (axes, legend and title included) exactly the stated size.
  const compiled = compile({ width: CHART_WIDTH, height: CHART_HEIGHT, autosize: { type: 'fit', contains: 'padding' }, ...spec, config: { ...config, ...(spec.config ?? {}) } } as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    const png = new Resvg(svg, {
      font: { fontFiles, loadSystemFonts: false, defaultFontFamily: FONT, sansSerifFamily: FONT },
      fitTo: { mode: 'zoom', value: CHART_SCALE },
      background: '#ffffff',
    }).render();
    return png.asPng();
  } finally {
    view.finalize();
  }
}
