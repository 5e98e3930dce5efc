/**
 * The interactive UMAP: drag to pan, wheel to zoom, hover for the cell under the pointer, lasso (or shift-drag) to
 * select. Frames are drawn on demand (one per animation frame at most); the canvas carries data-points,
 * data-frames, data-full-frames (frames that drew every cell) and data-first-draw-ms for the tests and the bench.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { EmbeddingTable } from '../../io/embedding-file.js';
import { pointRadius } from '../../plot/palette.js';
import { boundsOf, fitView, panBy, toData, toScreen, zoomAt, type Size, type View } from './camera.js';
import { PointGrid } from './point-index.js';
import { ScatterGL, type Coloring } from './scatter-gl.js';

export interface ScatterViewProps {
  table: EmbeddingTable;
  coloring: Coloring;
  /** Whether a cell is drawn (its category is not hidden). */
  visible: (cell: number) => boolean;
  visibleCount: number;
  /** What the tooltip says about a cell: label, value pairs. */
  describe: (cell: number) => [string, string][];
  selection: Uint8Array | null;
  onSelect: (selection: { mask: Uint8Array; count: number } | null) => void;
  lasso: boolean;
}

/** Hover picks a cell within this many pixels of its dot's edge. */
const HOVER_SLACK_PX = 4;
const WHEEL_ZOOM = 1.0015;

/** A fixed shuffle of the cells (xorshift), so categorical colours are drawn in an order no category wins. */
function shuffledOrder(n: number): Uint32Array {
  const order = Uint32Array.from({ length: n }, (_, i) => i);
  let state = 0x9e3779b9;
  for (let i = n - 1; i > 0; i--) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const j = (state >>> 0) % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

export function ScatterView(props: ScatterViewProps) {
  const { table } = props;
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const boxRef = useRef<HTMLDivElement>(null);
  const glRef = useRef<ScatterGL | null>(null);
  const viewRef = useRef<View | null>(null);
  const sizeRef = useRef<Size>({ width: 1, height: 1 });
  const pending = useRef(0);
  const drag = useRef<{ x: number; y: number; lasso: boolean } | null>(null);
  const propsRef = useRef(props);
  propsRef.current = props;
  const [failure, setFailure] = useState<string | null>(null);
  const [hover, setHover] = useState<{ cell: number; x: number; y: number } | null>(null);
  const [lassoPath, setLassoPath] = useState<number[] | null>(null);
  const lassoRef = useRef<number[] | null>(null);

  const bounds = useMemo(() => boundsOf(table.coords), [table]);
  const grid = useMemo(() => new PointGrid(table.coords, bounds), [table, bounds]);
  const shuffled = useMemo(() => shuffledOrder(table.nCells), [table]);
  const baseRadius = pointRadius(table.nCells);
  const fitted = () => fitView(bounds, sizeRef.current);
  /** Dots grow (up to three times) as one zooms in, so dense clusters open up. */
  const radiusNow = () => baseRadius * Math.min(3, Math.sqrt((viewRef.current?.scale ?? 1) / fitted().scale));

  const requestDraw = () => {
    if (pending.current) return;
    pending.current = requestAnimationFrame(() => {
      pending.current = 0;
      const gl = glRef.current;
      const canvas = canvasRef.current;
      if (!gl || !canvas || !viewRef.current) return;
      gl.draw(viewRef.current, sizeRef.current, radiusNow(), drag.current !== null && !drag.current.lasso);
      canvas.dataset.frames = String(gl.frames);
      canvas.dataset.fullFrames = String(gl.fullFrames);
      if (gl.frames === 1) canvas.dataset.firstDrawMs = String(performance.now());
    });
  };

  useEffect(() => {
    const canvas = canvasRef.current!;
    try {
      glRef.current = new ScatterGL(canvas, table.coords);
    } catch (error) {
      setFailure((error as Error).message);
      return;
    }
    const box = boxRef.current!;
    const observer = new ResizeObserver(() => {
      const first = viewRef.current === null;
      // Whole device pixels, so the canvas is shown unscaled: crisp dots, and a moved picture lands on the pixel grid.
      const ratio = window.devicePixelRatio || 1;
      const width = Math.max(1, Math.floor(box.clientWidth * ratio) / ratio);
      const height = Math.max(1, Math.floor(box.clientHeight * ratio) / ratio);
      canvas.style.width = `${width}px`;
      canvas.style.height = `${height}px`;
      sizeRef.current = { width, height };
      if (first) viewRef.current = fitted();
      requestDraw();
    });
    observer.observe(box);
    const lost = (event: Event) => {
      event.preventDefault();
      setFailure('the graphics context was lost (the GPU was reset or is busy); reload the page to draw the UMAP again');
    };
    canvas.addEventListener('webglcontextlost', lost);
    return () => {
      observer.disconnect();
      canvas.removeEventListener('webglcontextlost', lost);
      cancelAnimationFrame(pending.current);
      pending.current = 0;
      glRef.current?.destroy();
      glRef.current = null;
      viewRef.current = null;
    };
  }, [table]);

  useEffect(() => {
    glRef.current?.setColoring(props.coloring, shuffled);
    canvasRef.current?.setAttribute('data-points', String(props.visibleCount));
    requestDraw();
  }, [props.coloring, props.visibleCount, shuffled]);

  useEffect(() => {
    glRef.current?.setSelection(props.selection);
    requestDraw();
  }, [props.selection]);

  // Pointer handling: a drag pans (or draws the lasso); a move without buttons hovers.
  const local = (event: PointerEvent | WheelEvent): [number, number] => {
    const rect = canvasRef.current!.getBoundingClientRect();
    return [event.clientX - rect.left, event.clientY - rect.top];
  };

  const onPointerDown = (event: PointerEvent) => {
    if (event.button !== 0) return;
    const [x, y] = local(event);
    const lasso = propsRef.current.lasso || event.shiftKey;
    drag.current = { x, y, lasso };
    canvasRef.current!.setPointerCapture(event.pointerId);
    setHover(null);
    if (lasso) {
      lassoRef.current = [x, y];
      setLassoPath([x, y]);
    }
  };

  const onPointerMove = (event: PointerEvent) => {
    const [x, y] = local(event);
    const current = drag.current;
    if (current?.lasso && lassoRef.current) {
      lassoRef.current.push(x, y);
      setLassoPath([...lassoRef.current]);
    } else if (current && viewRef.current) {
      viewRef.current = panBy(viewRef.current, x - current.x, y - current.y);
      drag.current = { ...current, x, y };
      requestDraw();
    } else if (viewRef.current) {
      const view = viewRef.current;
      const [dx, dy] = toData(view, sizeRef.current, x, y);
      const cell = grid.nearest(dx, dy, (radiusNow() + HOVER_SLACK_PX) / view.scale, propsRef.current.visible);
      setHover(cell >= 0 ? { cell, x, y } : null);
    }
  };

  const onPointerUp = (event: PointerEvent) => {
    const current = drag.current;
    drag.current = null;
    if (canvasRef.current?.hasPointerCapture(event.pointerId)) canvasRef.current.releasePointerCapture(event.pointerId);
    const path = lassoRef.current;
    lassoRef.current = null;
    setLassoPath(null);
    if (!current?.lasso || !path || path.length < 6 || !viewRef.current) return;
    const view = viewRef.current;
    const polygon: number[] = [];
    for (let k = 0; k < path.length; k += 2) polygon.push(...toData(view, sizeRef.current, path[k]!, path[k + 1]!));
    propsRef.current.onSelect(grid.insidePolygon(polygon, propsRef.current.visible));
  };

  useEffect(() => {
    const canvas = canvasRef.current!;
    const onWheel = (event: WheelEvent) => {
      event.preventDefault();
      if (!viewRef.current) return;
      const [x, y] = local(event);
      viewRef.current = zoomAt(viewRef.current, sizeRef.current, x, y, WHEEL_ZOOM ** -event.deltaY);
      requestDraw();
    };
    // Passive listeners cannot stop the page from scrolling, so the wheel is bound here rather than through JSX.
    canvas.addEventListener('wheel', onWheel, { passive: false });
    return () => canvas.removeEventListener('wheel', onWheel);
  }, []);

  const resetView = () => {
    viewRef.current = fitted();
    requestDraw();
  };

  const hoverAt = hover && viewRef.current ? toScreen(viewRef.current, sizeRef.current, table.coords[2 * hover.cell]!, table.coords[2 * hover.cell + 1]!) : null;

  return (
    <div class="scatter">
      <div class="scatter-box" ref={boxRef}>
        <canvas
          ref={canvasRef}
          class={props.lasso ? 'scatter-canvas lasso' : 'scatter-canvas'}
          aria-label={`UMAP of ${table.nCells} cells`}
          onPointerDown={onPointerDown}
          onPointerMove={onPointerMove}
          onPointerUp={onPointerUp}
          onPointerCancel={onPointerUp}
          onPointerLeave={() => setHover(null)}
          onDblClick={resetView}
        />
        {lassoPath && lassoPath.length >= 4 && (
          <svg class="lasso-overlay" aria-hidden="true">
            <polygon points={lassoPath.join(' ')} />
          </svg>
        )}
        {hover && hoverAt && (
          <div class="tooltip" role="tooltip" style={{ left: `${Math.min(hoverAt[0] + 12, sizeRef.current.width - 220)}px`, top: `${hoverAt[1] + 12}px` }}>
            {props.describe(hover.cell).map(([label, value]) => (
              <div key={label}>
                <span class="tooltip-label">{label}</span> {value}
              </div>
            ))}
          </div>
        )}
        {failure && <p class="error scatter-failure">{failure}</p>}
      </div>
      <div class="scatter-hint">
        Drag to pan, scroll to zoom, double-click to fit. {props.lasso ? 'Drag around cells to select them.' : 'Shift-drag (or Lasso) selects cells.'}{' '}
        <button type="button" class="link" onClick={resetView}>
          Fit view
        </button>
      </div>
    </div>
  );
}
