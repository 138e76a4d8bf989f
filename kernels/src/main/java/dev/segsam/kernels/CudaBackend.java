package dev.segsam.kernels;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Device;
import dev.segsam.tensor.Options;
import dev.segsam.tensor.Options.AttentionKind;
import dev.segsam.tensor.Tensor;
import java.util.List;

/**
 * The CUDA implementation of {@link Backend}: every op is one or a few of segsam's own kernels
 * ({@code src/main/cuda}), each the twin of the same op in {@link dev.segsam.tensor.CpuBackend}, which the backend
 * contract suite compares it with. Tensors live in device memory ({@link CudaStorage}); inputs must have been
 * {@link #upload}ed, results stay on the device until {@link #download}.
 *
 * <p>This class is the facade; the ops live in one class per family: {@link LinearOps} (matmul, linear, convolutions),
 * {@link AttentionOps} (attention, positional encodings), {@link ElementwiseOps} (activations, arithmetic, norms,
 * softmax), {@link LayoutOps} (permute, concat, slice, windows, resizing, mask postprocessing, argmax).
 *
 * <p>Configuration comes from the {@link Options} the backend is created with ({@link #create(Options)}), never from
 * system properties: two backends with different options can run in one JVM. GEMM-shaped ops follow the
 * {@link GemmEngine} (exact fp32 tiles by default, TF32 tensor cores, or cuBLAS); attention is the fused flash kernel or
 * materialised score tiles; the memory pool's cache limit and per-launch synchronisation are options too.
 *
 * <p>Memory: outputs and scratch come from a pool shared by the backends on the device with the same cache limit;
 * close tensors you are done with and the pool reuses their blocks (see {@link DevicePool}). Threads: any thread may
 * call any op (each makes the primary context current first); all work goes into one stream, so results are ordered as
 * the calls. Numerics: layer norms accumulate in double like the reference; the data-movement ops and the index maths
 * of interpolation are bit-exact with it.
 */
public final class CudaBackend implements Backend {
    private static final System.Logger LOG = System.getLogger("segsam");

    private final CudaRuntime rt;
    private final Gemm gemm;
    private final LinearOps linear;
    private final AttentionOps attention;
    private final ElementwiseOps elementwise;
    private final LayoutOps layout;
    private final BackwardKernels backward;
    private final OptimizerKernels optimizer;

    CudaBackend(CudaRuntime rt, GemmEngine engine, AttentionKind attentionKind, long attentionTileBytes) {
        this.rt = rt;
        this.gemm = new Gemm(rt, engine);
        this.linear = new LinearOps(rt, gemm);
        this.elementwise = new ElementwiseOps(rt);
        this.backward = new BackwardKernels(rt);
        this.optimizer = new OptimizerKernels(rt);
        this.layout = new LayoutOps(rt);
        this.attention = new AttentionOps(rt, gemm, layout, attentionKind, attentionTileBytes);
    }

    /** The default attention (fused flash, 64 MiB score tiles where it does not apply) with {@code engine}. */
    CudaBackend(CudaRuntime rt, GemmEngine engine) {
        this(rt, engine, AttentionKind.FLASH, 64L << 20);
    }

    /**
     * The backend on this machine's GPU, configured by {@code options} (GEMM engine and precision, attention kind and
     * tile budget, pool cache limit, per-launch synchronisation, whether to probe at all); a cuBLAS request on a host
     * without {@code libcublas.so.12} falls back to segsam's kernels with one log line.
     *
     * @throws IllegalStateException with a one-line reason when there is no usable GPU
     */
    public static CudaBackend create(Options options) {
        CudaDevice device = sharedDevice(options);
        return create(device, options);
    }

    /** {@link #create(Options)} on a given device (the tests use the emulator's). */
    static CudaBackend create(CudaDevice device, Options options) {
        GemmEngine engine = GemmEngine.of(options);
        if (engine.cublas() && device.cublas() instanceof String why) {
            LOG.log(System.Logger.Level.WARNING, "segsam.gemm=cublas: " + why + "; using segsam's GEMM kernels");
            engine = engine.withoutCublas();
        }
        return new CudaBackend(device.runtime(options.cudaPoolCacheMiB(), options.cudaSync()), engine, options.cudaAttention(),
                (long) options.cudaAttentionTileMiB() << 20);
    }

    /**
     * The backend with a pinned GEMM engine and attention kind, other settings from {@code options} (benchmarks and the
     * kernel lab: {@link GemmEngine#FP32_TILED_64} and the like have no option).
     */
    public static CudaBackend create(Options options, GemmEngine engine, AttentionKind attentionKind) {
        CudaDevice device = sharedDevice(options);
        return new CudaBackend(device.runtime(options.cudaPoolCacheMiB(), options.cudaSync()), engine, attentionKind,
                (long) options.cudaAttentionTileMiB() << 20);
    }

    private static CudaDevice sharedDevice(Options options) {
        if (!options.cudaProbe()) throw new IllegalStateException(CudaDevice.DISABLED);
        CudaDevice device = CudaDevice.shared();
        if (device == null) throw new IllegalStateException(CudaDevice.sharedFailure());
        return device;
    }

    /** Null when cuBLAS can be used on this machine's GPU, else why not (one line). */
    public static String cublasUnavailableReason() {
        CudaDevice device = CudaDevice.shared();
        if (device == null) return CudaDevice.sharedFailure();
        return device.cublas() instanceof String why ? why : null;
    }

    @Override
    public String name() {
        return "cuda (" + rt.gpu.description() + ", gemm " + gemm.engine.label() + ", attention " + attention.label() + ")";
    }

    @Override
    public Device device() {
        return Device.CUDA;
    }

    public GemmEngine gemmEngine() {
        return gemm.engine;
    }

    /** Waits until all queued GPU work has finished (benchmarks; errors of earlier kernels surface here). */
    public void synchronize() {
        rt.synchronize("synchronize");
    }

    /** The counters of the device memory pool this backend allocates from. */
    public DevicePool.Stats memoryStats() {
        return rt.pool.stats();
    }

    /** Frees the pool's cached blocks (memory of live tensors stays). */
    public void trimMemory() {
        rt.pool.trim();
    }

    @Override
    public Tensor upload(Tensor host) {
        return rt.upload(host);
    }

    @Override
    public Tensor download(Tensor t) {
        return rt.download(t);
    }

    @Override
    public Tensor zeros(int... shape) {
        return rt.zeros(shape);
    }

    // =================================================================== linear algebra: LinearOps

    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        return linear.matmul(a, b);
    }

    @Override
    public Tensor linear(Tensor x, Tensor w, Tensor bias) {
        return linear.linear(x, w, bias, Gemm.ACT_NONE, "linear");
    }

    /** {@code gelu(linear(x, w, bias))} in one kernel (the GELU is the GEMM's epilogue): SAM's MLP up-projection. */
    @Override
    public Tensor linearGelu(Tensor x, Tensor w, Tensor bias) {
        return linear.linear(x, w, bias, Gemm.ACT_GELU, "linear+gelu");
    }

    /** {@code relu(linear(x, w, bias))} in one kernel: the mask decoder's MLPs. */
    public Tensor linearRelu(Tensor x, Tensor w, Tensor bias) {
        return linear.linear(x, w, bias, Gemm.ACT_RELU, "linear+relu");
    }

    @Override
    public Tensor im2col(Tensor x, int kh, int kw, int sh, int sw, int ph, int pw) {
        return linear.im2col(x, kh, kw, sh, sw, ph, pw);
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor bias, int sh, int sw, int ph, int pw) {
        return linear.conv2d(x, w, bias, sh, sw, ph, pw);
    }

    @Override
    public Tensor convTranspose2d(Tensor x, Tensor w, Tensor bias, int s) {
        return linear.convTranspose2d(x, w, bias, s);
    }

    // =================================================================== normalisation, activations, arithmetic: ElementwiseOps

    @Override
    public Tensor layerNorm(Tensor x, Tensor w, Tensor b, float eps) {
        return elementwise.layerNorm(x, w, b, eps);
    }

    @Override
    public Tensor layerNorm2d(Tensor x, Tensor w, Tensor b, float eps) {
        return elementwise.layerNorm2d(x, w, b, eps);
    }

    @Override
    public Tensor gelu(Tensor x) {
        return elementwise.unary(Kernel.GELU, "gelu", x);
    }

    @Override
    public Tensor relu(Tensor x) {
        return elementwise.unary(Kernel.RELU, "relu", x);
    }

    @Override
    public Tensor sigmoid(Tensor x) {
        return elementwise.unary(Kernel.SIGMOID, "sigmoid", x);
    }

    @Override
    public Tensor softmax(Tensor x) {
        return elementwise.softmax(x);
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        return elementwise.binary(ElementwiseOps.ADD, "add", a, b);
    }

    @Override
    public Tensor sub(Tensor a, Tensor b) {
        return elementwise.binary(ElementwiseOps.SUB, "sub", a, b);
    }

    @Override
    public Tensor mul(Tensor a, Tensor b) {
        return elementwise.binary(ElementwiseOps.MUL, "mul", a, b);
    }

    @Override
    public Tensor div(Tensor a, Tensor b) {
        return elementwise.binary(ElementwiseOps.DIV, "div", a, b);
    }

    @Override
    public Tensor scale(Tensor x, float s) {
        return elementwise.scale(x, s);
    }

    // =================================================================== layout: LayoutOps

    @Override
    public Tensor permute(Tensor x, int... dims) {
        return layout.permute(x, dims);
    }

    @Override
    public Tensor concat(List<Tensor> tensors, int dim) {
        return layout.concat(tensors, dim);
    }

    @Override
    public Tensor slice(Tensor x, int dim, int start, int length) {
        return layout.slice(x, dim, start, length);
    }

    @Override
    public Windows windowPartition(Tensor x, int ws) {
        return layout.windowPartition(x, ws);
    }

    @Override
    public Tensor windowUnpartition(Tensor windows, int ws, int hp, int wp, int h, int w) {
        return layout.windowUnpartition(windows, ws, hp, wp, h, w);
    }

    @Override
    public Tensor interpolateBilinear(Tensor x, int outH, int outW) {
        return layout.interpolateBilinear(x, outH, outW);
    }

    /** One fused kernel, bit-equal to the interface's two-stage default (see {@link LayoutOps#postprocessMasks}). */
    @Override
    public Tensor postprocessMasks(Tensor lowRes, int padSize, int h, int w, int outH, int outW, boolean threshold) {
        return layout.postprocessMasks(lowRes, padSize, h, w, outH, outW, threshold);
    }

    @Override
    public int[] argmax(Tensor x) {
        return layout.argmax(x);
    }

    // =================================================================== attention and positional encodings: AttentionOps

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, float scale, RelPos relPos) {
        return attention.attention(q, k, v, scale, relPos);
    }

    /** Heads read in place by the flash kernel; k / v may have batch 1, shared by all B queries (see {@link AttentionOps}). */
    @Override
    public Tensor multiHeadAttention(Tensor q, Tensor k, Tensor v, int heads, float scale) {
        return attention.multiHeadAttention(q, k, v, heads, scale);
    }

    @Override
    public Tensor relPosLookup(Tensor table, int qSize, int kSize) {
        return attention.relPosLookup(table, qSize, kSize);
    }

    @Override
    public Tensor fourierPositionEncoding(Tensor coords, Tensor gaussian) {
        return attention.fourierPositionEncoding(coords, gaussian);
    }

    // =================================================================== for the tests in this package

    /** The flash kernel this backend would launch for head dim d (null: score tiles). */
    Kernel flashKernel(int d, int dv) {
        return attention.flashKernel(d, dv);
    }

    /** Query rows per score tile for these sizes. */
    int tileRows(int B, int Nq, int Nk) {
        return attention.tileRows(B, Nq, Nk);
    }

    CudaRuntime runtime() {
        return rt;
    }

    // ------------------------------------------------------------------ backward ops (backward.cuh; products and attention backward:
    // Backend's default compositions of this backend's ops)

    @Override
    public Tensor geluBackward(Tensor x, Tensor dy) {
        return backward.unary(Kernel.GELU_BACKWARD, "gelu_backward", x, dy);
    }

    @Override
    public Tensor reluBackward(Tensor x, Tensor dy) {
        return backward.unary(Kernel.RELU_BACKWARD, "relu_backward", x, dy);
    }

    @Override
    public Tensor sigmoidBackward(Tensor y, Tensor dy) {
        return backward.sigmoid(y, dy);
    }

    @Override
    public Tensor softmaxBackward(Tensor y, Tensor dy) {
        return backward.softmax(y, dy);
    }

    @Override
    public LayerNormGrads layerNormBackward(Tensor x, Tensor w, Tensor dy, float eps) {
        return backward.layerNorm(x, w, dy, eps);
    }

    @Override
    public Tensor sumTo(Tensor g, int... shape) {
        if (java.util.Arrays.equals(g.shape(), shape)) return scale(g, 1f); // a copy, as the reference returns
        Tensor r = backward.sumTo(g, shape);
        return r != null ? r : Backend.super.sumTo(g, shape); // > 4 alternating dimension groups: the host reference
    }

    @Override
    public Tensor col2im(Tensor cols, int[] xShape, int kh, int kw, int strideH, int strideW, int padH, int padW) {
        return backward.col2im(cols, xShape, kh, kw, strideH, strideW, padH, padW);
    }

    @Override
    public Tensor interpolateBilinearBackward(Tensor dy, int h, int w) {
        return backward.interpolateBilinearBackward(dy, h, w);
    }

    @Override
    public Tensor relPosLookupBackward(Tensor dy, int L, int qSize, int kSize) {
        return backward.relPosLookupBackward(dy, L, qSize, kSize);
    }

    // ------------------------------------------------------------------ optimiser ops (optimizer.cuh)

    @Override
    public double[] sumSquares(List<Tensor> tensors) {
        return optimizer.sumSquares(tensors);
    }

    @Override
    public void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step) {
        optimizer.adamw(param, grad, m, v, step);
    }
}
