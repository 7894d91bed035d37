import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import { crop, detailRegion, downscale, encodePng, outline, zoom, type Rgba } from '../src/report/images.ts';
import { scopeSvgIds, thin } from '../src/report/charts.ts';
import { escapeLatex } from '../src/report/format-latex.ts';

function solid(width: number, height: number, f: (x: number, y: number) => number): Rgba {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const v = f(x, y);
      data.set([v, v, v, 255], (y * width + x) * 4);
    }
  return { width, height, data };
}

describe('report image operations', () => {
  it('downscale averages each source block', () => {
    const img = solid(4, 2, (x) => (x < 2 ? 0 : 200));
    const small = downscale(img, 2);
    assert.equal(small.width, 2);
    assert.equal(small.height, 1);
    assert.deepEqual([...small.data], [0, 0, 0, 255, 200, 200, 200, 255]);
    const odd = downscale(solid(4, 4, (x, y) => x * 10 + y), 2);
    assert.equal(odd.data[0], Math.round((0 + 1 + 10 + 11) / 4));
  });

  it('zoom repeats pixels and crop takes the exact window', () => {
    const img = solid(3, 2, (x, y) => x + 10 * y);
    const z = zoom(img, 2);
    assert.equal(z.width, 6);
    assert.equal(z.data[(3 * 6 + 5) * 4], 12); // zoomed (5,3) is source (2,1)
    const c = crop(img, { x: 1, y: 1, w: 2, h: 1 });
    assert.deepEqual([c.data[0], c.data[4]], [11, 12]);
  });

  it('detailRegion finds the textured quadrant of a flat frame', () => {
    const img = solid(64, 48, (x, y) => (x >= 40 && y >= 24 ? ((x + y) % 2) * 255 : 128));
    const r = detailRegion(img);
    assert.equal(r.w, 12);
    assert.ok(r.x >= 40 && r.y >= 24 && r.x + r.w <= 64 && r.y + r.h <= 48, JSON.stringify(r));
  });

  it('outline draws around, not over, the region, and the PNG round-trips', () => {
    const img = solid(10, 10, () => 0);
    const o = outline(img, { x: 3, y: 3, w: 4, h: 4 }, [255, 0, 0], 1);
    assert.equal(o.data[(2 * 10 + 3) * 4], 255); // just above the region
    assert.equal(o.data[(3 * 10 + 3) * 4], 0); // inside untouched
    assert.equal(img.data[(2 * 10 + 3) * 4], 0, 'input not modified');
    const back = PNG.sync.read(encodePng(o));
    assert.deepEqual(new Uint8Array(back.data), o.data);
  });

  it('charts: ids are scoped per chart and long series are thinned keeping both ends', () => {
    const svg = scopeSvgIds('<clipPath id="clip1"></clipPath><g clip-path="url(#clip1)"><use href="#clip1"/></g>', 'c2');
    assert.equal(svg, '<clipPath id="c2-clip1"></clipPath><g clip-path="url(#c2-clip1)"><use href="#c2-clip1"/></g>');
    const t = thin([...Array(1000).keys()], 5);
    assert.deepEqual(t, [0, 250, 500, 749, 999]);
  });

  it('LaTeX: a row starting with a bracket cannot be read as \\\\[length]', () => {
    assert.equal(escapeLatex('[4,3,2,1]'), '{[}4,3,2,1{]}');
  });
});
