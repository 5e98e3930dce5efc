/**
 * The UMAP drawn with WebGL 2: one point per cell, coloured in the vertex shader from a palette (categories) or a
 * colour ramp (numbers) held in a texture, so recolouring uploads one float per cell.
 * Points are drawn into an offscreen picture a margin larger than the canvas, then copied onto it; a pan only
 * moves that picture (a copy whatever the number of cells) until it runs out of margin, so dragging stays smooth
 * where drawing every cell each frame is slow (software rendering, 200,000 cells).
 * Written against WebGL 2 directly because regl (under regl-scatterplot) compiles its commands with `new Function`,
 * which the page's Content-Security-Policy forbids (docs/decisions.md).
 */
import type { Size, View } from './camera.js';
import { hexToRgb, MISSING_COLOR, viridisRamp } from './colors.js';

export type Coloring =
  | { readonly kind: 'categorical'; readonly codes: Int32Array; readonly colors: readonly string[]; readonly hidden: ReadonlySet<number> }
  | { readonly kind: 'continuous'; readonly values: Float32Array; readonly range: readonly [number, number] };

const POINT_VERTEX = `#version 300 es
precision highp float;
in vec2 a_position;
in float a_value;
in float a_selected;
uniform vec2 u_center;
uniform vec2 u_toClip;
uniform float u_pointSize;
uniform int u_mode;
uniform vec2 u_range;
uniform bool u_hasSelection;
uniform sampler2D u_colors;
out vec4 v_color;
void main() {
  vec4 color;
  if (u_mode == 0) {
    color = texelFetch(u_colors, ivec2(int(a_value) + 1, 0), 0);
  } else {
    float t = isnan(a_value) ? -1.0 : clamp((a_value - u_range.x) / (u_range.y - u_range.x), 0.0, 1.0);
    color = t < 0.0 ? vec4(0.827, 0.827, 0.827, 1.0) : texture(u_colors, vec2(t, 0.5));
  }
  if (u_hasSelection && a_selected < 0.5) color = vec4(mix(color.rgb, vec3(0.85), 0.7), color.a * 0.5);
  v_color = color;
  // Hidden categories have alpha 0: placed outside the clip volume, they cost no fragments.
  gl_Position = color.a == 0.0 ? vec4(2.0, 2.0, 2.0, 1.0) : vec4((a_position - u_center) * u_toClip, 0.0, 1.0);
  gl_PointSize = u_pointSize;
}`;

const POINT_FRAGMENT = `#version 300 es
precision highp float;
in vec4 v_color;
uniform float u_pointSize;
out vec4 outColor;
void main() {
  float d = length(gl_PointCoord - 0.5) * 2.0;
  if (d > 1.0) discard;
  float edge = 1.0 - smoothstep(1.0 - 2.0 / u_pointSize, 1.0, d);
  float alpha = v_color.a * edge;
  outColor = vec4(v_color.rgb * alpha, alpha);
}`;

/** The picture copied onto the canvas: a quad over the viewport, which is placed where the picture goes. */
const COPY_VERTEX = `#version 300 es
in vec2 a_corner;
out vec2 v_uv;
void main() {
  v_uv = a_corner;
  gl_Position = vec4(a_corner * 2.0 - 1.0, 0.0, 1.0);
}`;

const COPY_FRAGMENT = `#version 300 es
precision highp float;
in vec2 v_uv;
uniform sampler2D u_picture;
out vec4 outColor;
void main() {
  outColor = texture(u_picture, v_uv);
}`;

function compile(gl: WebGL2RenderingContext, vertex: string, fragment: string): WebGLProgram {
  const program = gl.createProgram()!;
  for (const [type, source] of [[gl.VERTEX_SHADER, vertex], [gl.FRAGMENT_SHADER, fragment]] as const) {
    const shader = gl.createShader(type)!;
    gl.shaderSource(shader, source);
    gl.compileShader(shader);
    if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) throw new Error(`shader: ${gl.getShaderInfoLog(shader)}`);
    gl.attachShader(program, shader);
  }
  gl.linkProgram(program);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error(`shader program: ${gl.getProgramInfoLog(program)}`);
  return program;
}

export class ScatterUnavailableError extends Error {
  override readonly name = 'ScatterUnavailableError';
}

/** The offscreen picture: what was drawn, at which view, and how far (device pixels) it reaches past the canvas. */
interface Picture {
  readonly texture: WebGLTexture;
  readonly framebuffer: WebGLFramebuffer;
  readonly width: number;
  readonly height: number;
  readonly marginX: number;
  readonly marginY: number;
  view: View | null;
  radius: number;
}

export class ScatterGL {
  private readonly gl: WebGL2RenderingContext;
  private readonly points: WebGLProgram;
  private readonly copy: WebGLProgram;
  private readonly uniforms: Record<string, WebGLUniformLocation | null>;
  private readonly pointArrays: WebGLVertexArrayObject;
  private readonly quadArrays: WebGLVertexArrayObject;
  private readonly valueBuffer: WebGLBuffer;
  private readonly selectedBuffer: WebGLBuffer;
  private readonly orderBuffer: WebGLBuffer;
  private readonly colorTexture: WebGLTexture;
  private readonly nPoints: number;
  private readonly maxSide: number;
  private picture: Picture | null = null;
  private mode = 0;
  private range: readonly [number, number] = [0, 1];
  private hasSelection = false;
  /** Frames shown since creation. */
  frames = 0;
  /** Of those, the ones that drew every cell (the rest moved the picture). */
  fullFrames = 0;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    coords: Float32Array,
  ) {
    const gl = canvas.getContext('webgl2', { antialias: false, premultipliedAlpha: true, alpha: false });
    if (!gl) throw new ScatterUnavailableError('this browser cannot draw WebGL 2, which the UMAP needs');
    this.gl = gl;
    this.nPoints = coords.length / 2;
    this.maxSide = Math.min(gl.getParameter(gl.MAX_TEXTURE_SIZE) as number, ...(gl.getParameter(gl.MAX_VIEWPORT_DIMS) as Int32Array));
    this.points = compile(gl, POINT_VERTEX, POINT_FRAGMENT);
    this.copy = compile(gl, COPY_VERTEX, COPY_FRAGMENT);
    this.uniforms = Object.fromEntries(
      ['u_center', 'u_toClip', 'u_pointSize', 'u_mode', 'u_range', 'u_hasSelection', 'u_colors'].map((name) => [name, gl.getUniformLocation(this.points, name)]),
    );

    this.pointArrays = gl.createVertexArray()!;
    gl.bindVertexArray(this.pointArrays);
    const attribute = (program: WebGLProgram, name: string, size: number, data: Float32Array): WebGLBuffer => {
      const buffer = gl.createBuffer()!;
      gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
      gl.bufferData(gl.ARRAY_BUFFER, data, gl.STATIC_DRAW);
      const location = gl.getAttribLocation(program, name);
      gl.enableVertexAttribArray(location);
      gl.vertexAttribPointer(location, size, gl.FLOAT, false, 0, 0);
      return buffer;
    };
    attribute(this.points, 'a_position', 2, coords);
    this.valueBuffer = attribute(this.points, 'a_value', 1, new Float32Array(this.nPoints));
    this.selectedBuffer = attribute(this.points, 'a_selected', 1, new Float32Array(this.nPoints));
    this.orderBuffer = gl.createBuffer()!;
    gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, this.orderBuffer);
    gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, Uint32Array.from({ length: this.nPoints }, (_, i) => i), gl.STATIC_DRAW);

    this.quadArrays = gl.createVertexArray()!;
    gl.bindVertexArray(this.quadArrays);
    attribute(this.copy, 'a_corner', 2, Float32Array.from([0, 0, 1, 0, 0, 1, 1, 1]));
    gl.bindVertexArray(null);
    this.colorTexture = gl.createTexture()!;
  }

  private uploadColors(rgba: Uint8Array, width: number, linear: boolean): void {
    const { gl } = this;
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, this.colorTexture);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, width, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, rgba);
    const filter = linear ? gl.LINEAR : gl.NEAREST;
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, filter);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, filter);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
  }

  /**
   * Colours by categories (texel 0 is the missing colour, hidden ones transparent; cells in a fixed shuffled order so
   * no category always covers another) or by numbers (highest drawn last, as scanpy sorts expression).
   */
  setColoring(coloring: Coloring, shuffled: Uint32Array): void {
    const { gl } = this;
    let values: Float32Array;
    let order: Uint32Array;
    if (coloring.kind === 'categorical') {
      values = Float32Array.from(coloring.codes);
      const rgba = new Uint8Array(4 * (coloring.colors.length + 1));
      [MISSING_COLOR, ...coloring.colors].forEach((hex, i) => {
        rgba.set([...hexToRgb(hex), i > 0 && coloring.hidden.has(i - 1) ? 0 : 255], 4 * i);
      });
      this.uploadColors(rgba, coloring.colors.length + 1, false);
      this.mode = 0;
      order = shuffled;
    } else {
      values = coloring.values;
      this.uploadColors(viridisRamp(), 256, true);
      this.mode = 1;
      this.range = coloring.range;
      // NaN first (drawn underneath), then ascending.
      order = Uint32Array.from({ length: this.nPoints }, (_, i) => i).sort((a, b) => {
        const [va, vb] = [values[a]!, values[b]!];
        return Number.isNaN(va) ? -1 : Number.isNaN(vb) ? 1 : va - vb;
      });
    }
    gl.bindBuffer(gl.ARRAY_BUFFER, this.valueBuffer);
    gl.bufferSubData(gl.ARRAY_BUFFER, 0, values);
    gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, this.orderBuffer);
    gl.bufferSubData(gl.ELEMENT_ARRAY_BUFFER, 0, order);
    if (this.picture) this.picture.view = null;
  }

  /** Cells outside a selection are drawn faded; null clears it. */
  setSelection(mask: Uint8Array | null): void {
    const { gl } = this;
    this.hasSelection = mask !== null;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.selectedBuffer);
    gl.bufferSubData(gl.ARRAY_BUFFER, 0, mask ? Float32Array.from(mask) : new Float32Array(this.nPoints));
    if (this.picture) this.picture.view = null;
  }

  /** The offscreen picture for a canvas of this size, (re)made when the size changes. */
  private pictureFor(width: number, height: number): Picture {
    const marginX = Math.max(0, Math.min(Math.floor(width / 2), Math.floor((this.maxSide - width) / 2)));
    const marginY = Math.max(0, Math.min(Math.floor(height / 2), Math.floor((this.maxSide - height) / 2)));
    const [pictureWidth, pictureHeight] = [width + 2 * marginX, height + 2 * marginY];
    if (this.picture?.width === pictureWidth && this.picture.height === pictureHeight) return this.picture;
    const { gl } = this;
    if (this.picture) {
      gl.deleteTexture(this.picture.texture);
      gl.deleteFramebuffer(this.picture.framebuffer);
    }
    const texture = gl.createTexture()!;
    gl.activeTexture(gl.TEXTURE1);
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.texStorage2D(gl.TEXTURE_2D, 1, gl.RGBA8, pictureWidth, pictureHeight);
    // Moved by whole device pixels and sampled without filtering, the copy equals drawing every cell again.
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    const framebuffer = gl.createFramebuffer()!;
    gl.bindFramebuffer(gl.FRAMEBUFFER, framebuffer);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, texture, 0);
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    this.picture = { texture, framebuffer, width: pictureWidth, height: pictureHeight, marginX, marginY, view: null, radius: 0 };
    return this.picture;
  }

  /** Draws every cell into the picture, centred on `view`. */
  private paint(picture: Picture, view: View, ratio: number, pointRadius: number): void {
    const { gl } = this;
    const u = this.uniforms;
    gl.bindFramebuffer(gl.FRAMEBUFFER, picture.framebuffer);
    gl.viewport(0, 0, picture.width, picture.height);
    gl.clearColor(1, 1, 1, 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    gl.useProgram(this.points);
    gl.bindVertexArray(this.pointArrays);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, this.colorTexture);
    gl.uniform2f(u.u_center!, view.centerX, view.centerY);
    gl.uniform2f(u.u_toClip!, (2 * view.scale * ratio) / picture.width, (2 * view.scale * ratio) / picture.height);
    gl.uniform1f(u.u_pointSize!, Math.max(1, 2 * pointRadius * ratio));
    gl.uniform1i(u.u_mode!, this.mode);
    gl.uniform2f(u.u_range!, this.range[0], this.range[1]);
    gl.uniform1i(u.u_hasSelection!, this.hasSelection ? 1 : 0);
    gl.uniform1i(u.u_colors!, 0);
    gl.drawElements(gl.POINTS, this.nPoints, gl.UNSIGNED_INT, 0);
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    picture.view = view;
    picture.radius = pointRadius;
    this.fullFrames++;
  }

  /**
   * Shows one frame. With `panning`, the picture is only moved when the view differs from it by a shift that stays
   * within its margin; otherwise (and always when not panning) every cell is drawn.
   */
  draw(view: View, size: Size, pointRadius: number, panning = false): void {
    const { gl, canvas } = this;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(size.width * ratio));
    const height = Math.max(1, Math.round(size.height * ratio));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const picture = this.pictureFor(width, height);
    const drawn = picture.view;
    let shiftX = 0;
    let shiftY = 0;
    if (drawn && panning && drawn.scale === view.scale && picture.radius === pointRadius) {
      shiftX = Math.round((drawn.centerX - view.centerX) * view.scale * ratio);
      shiftY = Math.round((view.centerY - drawn.centerY) * view.scale * ratio);
    }
    const reuse = drawn !== null && panning && drawn.scale === view.scale && picture.radius === pointRadius && Math.abs(shiftX) <= picture.marginX && Math.abs(shiftY) <= picture.marginY;
    if (!reuse) {
      this.paint(picture, view, ratio, pointRadius);
      shiftX = 0;
      shiftY = 0;
    }
    gl.viewport(0, 0, width, height);
    gl.clearColor(1, 1, 1, 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
    // The picture's centre goes where the view puts it: the viewport is the picture's rectangle on the canvas.
    gl.viewport(shiftX - picture.marginX, -shiftY - picture.marginY, picture.width, picture.height);
    gl.disable(gl.BLEND);
    gl.useProgram(this.copy);
    gl.bindVertexArray(this.quadArrays);
    gl.activeTexture(gl.TEXTURE1);
    gl.bindTexture(gl.TEXTURE_2D, picture.texture);
    gl.uniform1i(gl.getUniformLocation(this.copy, 'u_picture'), 1);
    gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
    this.frames++;
  }

  /** Frees the GPU memory now rather than when the canvas is collected. */
  destroy(): void {
    this.gl.getExtension('WEBGL_lose_context')?.loseContext();
  }
}
