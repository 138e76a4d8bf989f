package dev.segsam.tensor;

import java.util.List;

/**
 * The set of tensor ops that SAM and SEG-SAM need. Model code is written against this interface only, so a backend
 * (the CPU reference {@link CpuBackend}, the fast CPU backend {@code dev.segsam.tensor.fast.FastCpuBackend}, the CUDA
 * backend of the {@code kernels} module) plugs in without touching the model.
 *
 * <p>Conventions: every op returns a new tensor on this backend's device and leaves its inputs untouched; shapes
 * follow PyTorch (NCHW for images unless an op says otherwise); every op names the PyTorch function it mirrors. A
 * {@code null} bias or affine parameter means "none". Inputs must be on this backend's device ({@link #upload}).
 */
public interface Backend {

    /** Short name for logs, e.g. {@code cpu-reference}. */
    String name();

    /** The device this backend's tensors live on (CPU or CUDA, never AUTO). */
    Device device();

    /** A tensor on this device with the values of {@code host} (the same tensor when already here). */
    Tensor upload(Tensor host);

    /** A host tensor with the values of {@code t} (the same tensor when already on the host). */
    Tensor download(Tensor t);

    /** A zero-filled tensor on this device. */
    Tensor zeros(int... shape);

    /**
     * The threads this backend's host-side loops run on: a CPU backend's ops, and the host-side formulas of an autodiff
     * tape over it. Sized from {@link Options#threads()} when the backend is made; default {@link Parallel#SEQUENTIAL}.
     */
    default Parallel parallel() {
        return Parallel.SEQUENTIAL;
    }

    // ------------------------------------------------------------------ linear algebra

    /**
     * Batched matrix product, {@code torch.matmul} for rank ≥ 2: {@code a [..., M, K] · b [..., K, N] → [..., M, N]}.
     * The batch dimensions broadcast.
     */
    Tensor matmul(Tensor a, Tensor b);

    /** {@code torch.nn.functional.linear}: {@code x [..., in], w [out, in], bias [out] → x·wᵀ + bias [..., out]}. */
    Tensor linear(Tensor x, Tensor w, Tensor bias);

    /**
     * {@code gelu(linear(x, w, bias))}: the MLP up-projection of SAM's image-encoder blocks. Default: {@link #linear}
     * then {@link #gelu}; a fast backend applies GELU as the GEMM stores each output tile (no second pass over the
     * {@code [tokens, 4D]} activation, and one such tensor fewer alive).
     */
    default Tensor linearGelu(Tensor x, Tensor w, Tensor bias) {
        try (TensorScope s = TensorScope.open()) {
            return s.keep(gelu(linear(x, w, bias)));
        }
    }

    /**
     * {@code torch.nn.functional.conv2d} (groups 1, dilation 1) computed as im2col + GEMM:
     * {@code x [B, C, H, W], w [O, C, kh, kw], bias [O] → [B, O, Ho, Wo]},
     * {@code Ho = (H + 2·padH − kh)/strideH + 1}.
     */
    Tensor conv2d(Tensor x, Tensor w, Tensor bias, int strideH, int strideW, int padH, int padW);

    /**
     * The im2col step of {@link #conv2d}: {@code x [B, C, H, W] → cols [B, C·kh·kw, Ho·Wo]}, row {@code c·kh·kw + i·kw + j}
     * holding the input pixel under kernel tap {@code (i, j)} of channel {@code c} (zero outside the image), like
     * {@code torch.nn.functional.unfold}.
     */
    Tensor im2col(Tensor x, int kh, int kw, int strideH, int strideW, int padH, int padW);

    /**
     * {@code torch.nn.functional.conv_transpose2d} with padding 0 and output padding 0:
     * {@code x [B, C, H, W], w [C, O, kh, kw], bias [O] → [B, O, (H−1)·stride + kh, (W−1)·stride + kw]}.
     */
    Tensor convTranspose2d(Tensor x, Tensor w, Tensor bias, int stride);

    /**
     * {@code layerNorm(residual + linear(x, w, bias), lnW, lnB, eps)} ({@code residual} with the linear's output shape):
     * a transformer's output projection, residual and norm, as SAM's decoder updates its image keys. Default: the three
     * ops; a fast backend normalises each block of GEMM rows before it stores it.
     */
    default Tensor linearAddLayerNorm(Tensor x, Tensor w, Tensor bias, Tensor residual, Tensor lnW, Tensor lnB, float eps) {
        try (TensorScope s = TensorScope.open()) {
            return s.keep(layerNorm(add(residual, linear(x, w, bias)), lnW, lnB, eps));
        }
    }

    /**
     * {@code gelu(convTranspose2d(x, w, bias, stride))}: the last stage of SAM's mask-decoder upscaling. Default: the two
     * ops; a fast backend applies GELU to each block of products before it stores it.
     */
    default Tensor convTranspose2dGelu(Tensor x, Tensor w, Tensor bias, int stride) {
        try (TensorScope s = TensorScope.open()) {
            return s.keep(gelu(convTranspose2d(x, w, bias, stride)));
        }
    }

    /**
     * {@code proj · gelu(convTranspose2d(x, w, bias, stride))} over the output channels, per batch entry: {@code proj
     * [B, M, O]} against the upscaled {@code [B, O, Ho·Wo]} gives {@code [B, M, Ho, Wo]} — SAM's masks (the
     * hypernetworks' outputs times the upscaled embedding). Default: the two ops and a matmul; a fast backend projects
     * each block of products and never stores the upscaled tensor.
     */
    default Tensor convTranspose2dGeluProject(Tensor x, Tensor w, Tensor bias, int stride, Tensor proj) {
        try (TensorScope s = TensorScope.open()) {
            Tensor up = convTranspose2dGelu(x, w, bias, stride);
            int B = up.size(0), O = up.size(1), Ho = up.size(2), Wo = up.size(3);
            return s.keep(matmul(proj, up.reshape(B, O, Ho * Wo)).reshape(B, proj.size(1), Ho, Wo));
        }
    }

    /**
     * {@code gelu(layerNorm2d(convTranspose2d(x, w, bias, stride), lnW, lnB, eps))}: the first stage of SAM's
     * mask-decoder upscaling. Default: the three ops; a fast backend normalises and activates each block of products
     * before it stores it.
     */
    default Tensor convTranspose2dLayerNormGelu(Tensor x, Tensor w, Tensor bias, int stride, Tensor lnW, Tensor lnB, float eps) {
        try (TensorScope s = TensorScope.open()) {
            return s.keep(gelu(layerNorm2d(convTranspose2d(x, w, bias, stride), lnW, lnB, eps)));
        }
    }

    // ------------------------------------------------------------------ normalisation and activations

    /** {@code torch.nn.functional.layer_norm} over the last dimension (biased variance); {@code w, b [last]} or null. */
    Tensor layerNorm(Tensor x, Tensor w, Tensor b, float eps);

    /**
     * SAM's {@code LayerNorm2d}: normalise over channels at each pixel, {@code x [B, C, H, W]},
     * {@code y = w[c]·(x − u)/sqrt(s + eps) + b[c]} with {@code u, s} the channel mean and biased variance.
     */
    Tensor layerNorm2d(Tensor x, Tensor w, Tensor b, float eps);

    /** {@code torch.nn.functional.gelu} (exact, erf form): {@code 0.5·x·(1 + erf(x/√2))}. */
    Tensor gelu(Tensor x);

    /** {@code torch.relu}. */
    Tensor relu(Tensor x);

    /** {@code torch.sigmoid}. */
    Tensor sigmoid(Tensor x);

    /** {@code torch.softmax(x, dim=-1)}, max-subtracted. */
    Tensor softmax(Tensor x);

    // ------------------------------------------------------------------ element-wise with broadcasting

    /** {@code a + b} with NumPy/PyTorch broadcasting. */
    Tensor add(Tensor a, Tensor b);

    /** {@code a − b} with broadcasting. */
    Tensor sub(Tensor a, Tensor b);

    /** {@code a · b} (element-wise) with broadcasting. */
    Tensor mul(Tensor a, Tensor b);

    /** {@code a / b} (element-wise, true division) with broadcasting. */
    Tensor div(Tensor a, Tensor b);

    /** {@code x · s} for a scalar {@code s}. */
    Tensor scale(Tensor x, float s);

    // ------------------------------------------------------------------ layout

    /** {@code x.permute(dims).contiguous()}. */
    Tensor permute(Tensor x, int... dims);

    /** {@code torch.cat(tensors, dim)}. */
    Tensor concat(List<Tensor> tensors, int dim);

    /** {@code x.narrow(dim, start, length).contiguous()}, i.e. {@code x[..., start:start+length, ...]}. */
    Tensor slice(Tensor x, int dim, int start, int length);

    /**
     * SAM's {@code window_partition}: {@code x [B, H, W, C]} zero-padded at the bottom and right to multiples of
     * {@code ws}, cut into windows {@code [B·nH·nW, ws, ws, C]}; window {@code n = b·nH·nW + wr·nW + wc}.
     */
    Windows windowPartition(Tensor x, int ws);

    /**
     * SAM's {@code window_unpartition}: the inverse of {@link #windowPartition}, cropping the padding:
     * {@code windows [B·nH·nW, ws, ws, C] → [B, h, w, C]} for padded size {@code hp × wp}.
     */
    Tensor windowUnpartition(Tensor windows, int ws, int hp, int wp, int h, int w);

    /** The result of {@link #windowPartition}: the windows and the padded height and width. */
    record Windows(Tensor windows, int paddedH, int paddedW) {}

    /**
     * {@code torch.nn.functional.interpolate(x, size=(outH, outW), mode="bilinear", align_corners=False)} without
     * antialiasing: {@code x [B, C, H, W] → [B, C, outH, outW]}.
     */
    Tensor interpolateBilinear(Tensor x, int outH, int outW);

    /**
     * SAM's {@code Sam.postprocess_masks} (docs/design/sam.md §8.1): low-res mask logits {@code [B, C, H, W]} (256 × 256 in SAM) →
     * {@code [B, C, outH, outW]}, as
     * <pre>
     * masks = F.interpolate(lowRes, (padSize, padSize), mode="bilinear", align_corners=False)
     * masks = masks[..., :h, :w]                      # the resized input inside the padded square
     * masks = F.interpolate(masks, (outH, outW), mode="bilinear", align_corners=False)
     * if threshold: masks = (masks &gt; 0.0).float()     # 1 inside, 0 outside (NaN → 0)
     * </pre>
     * {@code 1 ≤ h, w ≤ padSize}.
     *
     * <p>Default: exactly that sequence of ops ({@link #interpolateBilinear}, {@link #slice} twice,
     * {@link #interpolateBilinear}; the threshold on the host). A GPU backend fuses it into one pass without the
     * {@code padSize²} intermediate; it must give the same values.
     */
    default Tensor postprocessMasks(Tensor lowRes, int padSize, int h, int w, int outH, int outW, boolean threshold) {
        Shapes.requireRank(lowRes, 4, "postprocess_masks input");
        if (h < 1 || w < 1 || h > padSize || w > padSize || outH < 1 || outW < 1) {
            throw new IllegalArgumentException("postprocess_masks: crop " + h + "x" + w + " of " + padSize + "x" + padSize
                    + " to " + outH + "x" + outW);
        }
        try (TensorScope s = TensorScope.open()) {
            Tensor up = interpolateBilinear(lowRes, padSize, padSize);
            Tensor logits = interpolateBilinear(slice(slice(up, 2, 0, h), 3, 0, w), outH, outW);
            if (!threshold) return s.keep(logits);
            float[] v = download(logits).toArray();
            for (int i = 0; i < v.length; i++) v[i] = v[i] > 0f ? 1f : 0f;
            return s.keep(upload(Tensor.of(v, logits.shape())));
        }
    }

    // ------------------------------------------------------------------ attention and positional encodings

    /**
     * Scaled dot-product attention {@code softmax((q·scale)·kᵀ + bias)·v} for {@code q [B, Nq, d], k [B, Nk, d],
     * v [B, Nk, dv] → [B, Nq, dv]}; B counts batch × heads. {@code relPos} (or null) adds SAM's decomposed
     * relative-position bias (image encoder {@code add_decomposed_rel_pos}). Implementations must not materialise
     * the whole {@code [B, Nq, Nk]} score tensor.
     */
    Tensor attention(Tensor q, Tensor k, Tensor v, float scale, RelPos relPos);

    /**
     * Multi-head attention on projected, head-interleaved tensors, as SAM's mask decoder {@code Attention} runs it
     * between its projections: {@code q [B, nq, heads·d], k [B, nk, heads·d], v [B, nk, heads·dv] → [B, nq, heads·dv]},
     * head {@code h} owning channels {@code h·d … h·d + d − 1}; per head {@code softmax((q_h·scale)·k_hᵀ)·v_h}.
     *
     * <p>Default: split the heads with {@link #permute}, {@link #attention}, merge with {@link #permute} (so every
     * backend, the autodiff tape included, has it); a fast backend reads the heads in place instead.
     */
    default Tensor multiHeadAttention(Tensor q, Tensor k, Tensor v, int heads, float scale) {
        return Composites.multiHeadAttention(this, q, k, v, heads, scale);
    }

    /**
     * The attention branch of a SAM image-encoder block, {@code x [B, H, W, D]} (already normalised) → {@code [B, H, W, D]}:
     * <pre>
     * window &gt; 0: x = window_partition(x, window)      (zero padding to a multiple of the window)
     * qkv = linear(x, qkvW, qkvB), head h of q/k/v at feature s·D + h·hd + c       (hd = D/heads)
     * o_h = softmax((q_h·hd^−½)·k_hᵀ + rel-pos bias)·v_h   ({@link #attention}, tables from {@link #relPosLookup})
     * out = linear(merged heads, projW, projB);  window &gt; 0: window_unpartition and crop to H × W
     * </pre>
     * {@code relPosH, relPosW}: the block's {@code rel_pos_h / rel_pos_w} tables {@code [L, hd]}.
     *
     * <p>Default: exactly that sequence of ops. A fast backend fuses it (no partition, permute or slice copies; padded
     * windows attend to the bias rows that zero padding turns into).
     */
    default Tensor encoderAttention(Tensor x, Tensor qkvW, Tensor qkvB, Tensor projW, Tensor projB, int heads, int window,
                                    Tensor relPosH, Tensor relPosW) {
        return Composites.encoderAttention(this, x, qkvW, qkvB, projW, projB, heads, window, relPosH, relPosW);
    }

    /**
     * SAM's decomposed relative position for a query grid {@code qh × qw} and key grid {@code kh × kw}:
     * {@code relH [qh, kh, d]} and {@code relW [qw, kw, d]} (from {@link #relPosLookup}). For query {@code (y, x)} and
     * key {@code (ky, kx)} the bias is {@code q_unscaled·relH[y, ky] + q_unscaled·relW[x, kx]}, added to the score as
     * {@code (score + biasH) + biasW}.
     */
    record RelPos(Tensor relH, Tensor relW, int qh, int qw, int kh, int kw) {}

    /**
     * SAM's {@code get_rel_pos}: {@code table [L, d] → [qSize, kSize, d]} with
     * {@code out[i][j] = table[i·max(k/q,1) − j·max(q/k,1) + (k−1)·max(q/k,1)]}, the table first resized linearly to
     * {@code 2·max(q,k)−1} rows if its length differs.
     */
    Tensor relPosLookup(Tensor table, int qSize, int kSize);

    /**
     * SAM's random Fourier position encoding ({@code PositionEmbeddingRandom._pe_encoding}):
     * {@code coords [..., 2]} in [0, 1], {@code gaussian [2, F] → [..., 2F]}: {@code t = ((2·c − 1)·G)·2π},
     * output {@code [sin t, cos t]}.
     */
    Tensor fourierPositionEncoding(Tensor coords, Tensor gaussian);

    /** {@code torch.argmax(x, dim=-1)}: index of the first maximum along the last dimension, as a Java array. */
    int[] argmax(Tensor x);

    /**
     * The per-pixel class decision over the classes (dim 1) of {@code logits [B, K, H, W]} (K ≥ 1), as SEG-SAM's
     * semantic mask M̂_s is read (docs/design/segsam.md §3): with {@code p = softmax(logits[b, :, y, x])} and
     * {@code label = argmax_k logits[b, k, y, x]} (the first maximum),
     * <ul>
     *   <li>{@code labels [B, H, W]}: {@code label} as a float (exact for K ≤ 2²⁴);</li>
     *   <li>{@code foreground [B, H, W]}: {@code 1 − p_0}, the probability of any class but class 0;</li>
     *   <li>{@code means [B, K]}: per image, the mean of {@code p} over its pixels with {@code label ≠ 0}; when it has
     *       none, over its pixels where {@code region [B, 1, H, W] > 0} (NaN counts as outside); zeros when that is
     *       empty too.</li>
     * </ul>
     * All three stay on this device. The CPU backends compute softmax in double ({@link CpuBackend#classMaps}, the
     * reference) and round once.
     *
     * <p>Default (for backends without a fused kernel): exactly that from existing ops — {@link #permute} to
     * channels-last, {@link #softmax}, {@link #argmax}, {@link #slice}, and the region means as a {@link #matmul} of a
     * 0/1 selection row with the probabilities; the selection is built on the host from the labels (and the region),
     * one small download and upload.
     */
    default ClassMaps classMaps(Tensor logits, Tensor region) {
        return Composites.classMaps(this, logits, region);
    }

    /** The outputs of {@link #classMaps}; closing it closes all three. */
    record ClassMaps(Tensor labels, Tensor foreground, Tensor means) implements AutoCloseable {
        @Override
        public void close() {
            labels.close();
            foreground.close();
            means.close();
        }
    }

    // ------------------------------------------------------------------ backward ops (the autodiff tape's formulas)
    // Defaults: the host reference loops of BackwardOps (on a device backend via download/upload), or compositions
    // of the ops above. Gradient checks for each: core-tensor's BackwardOpsTest, on every backend.

    /** Softmax backward over the last dimension from the output {@code y}: {@code dx = y ⊙ (dy − Σ dy·y)}. */
    default Tensor softmaxBackward(Tensor y, Tensor dy) {
        return BackwardOps.Defaults.softmaxBackward(this, y, dy);
    }

    /**
     * {@link #layerNorm} backward over the last dimension: {@code dx}, and {@code dw, db [D]} summed over the rows
     * (computed even when the forward had no affine parameters; {@code w} null means weight 1).
     */
    default LayerNormGrads layerNormBackward(Tensor x, Tensor w, Tensor dy, float eps) {
        return BackwardOps.Defaults.layerNormBackward(this, x, w, dy, eps);
    }

    /** The gradients of {@link #layerNormBackward}; closing it closes all three. */
    record LayerNormGrads(Tensor dx, Tensor dw, Tensor db) implements AutoCloseable {
        @Override
        public void close() {
            dx.close();
            dw.close();
            db.close();
        }
    }

    /** {@code dy·GELU'(x)} for the exact (erf) GELU. */
    default Tensor geluBackward(Tensor x, Tensor dy) {
        return BackwardOps.Defaults.geluBackward(this, x, dy);
    }

    /** {@code dy·[x > 0]}. */
    default Tensor reluBackward(Tensor x, Tensor dy) {
        return BackwardOps.Defaults.reluBackward(this, x, dy);
    }

    /** {@code dy·y·(1 − y)} from the sigmoid's output {@code y}. */
    default Tensor sigmoidBackward(Tensor y, Tensor dy) {
        return BackwardOps.Defaults.sigmoidBackward(this, y, dy);
    }

    /** {@code g} summed down to {@code shape} (which broadcasts to g's shape): the adjoint of broadcasting. */
    default Tensor sumTo(Tensor g, int... shape) {
        return BackwardOps.Defaults.sumTo(this, g, shape);
    }

    /** The adjoint of {@link #im2col} ({@code F.fold}): {@code cols [B, C·kh·kw, Ho·Wo] → [B, C, H, W]}. */
    default Tensor col2im(Tensor cols, int[] xShape, int kh, int kw, int strideH, int strideW, int padH, int padW) {
        return BackwardOps.Defaults.col2im(this, cols, xShape, kh, kw, strideH, strideW, padH, padW);
    }

    /** The adjoint of {@link #interpolateBilinear}: {@code dy [B, C, outH, outW] → [B, C, H, W]}. */
    default Tensor interpolateBilinearBackward(Tensor dy, int h, int w) {
        return BackwardOps.Defaults.interpolateBilinearBackward(this, dy, h, w);
    }

    /** The adjoint of {@link #relPosLookup} (a table of {@code L = 2·max(q, k) − 1} rows): {@code [q, k, d] → [L, d]}. */
    default Tensor relPosLookupBackward(Tensor dy, int L, int qSize, int kSize) {
        return BackwardOps.Defaults.relPosLookupBackward(this, dy, L, qSize, kSize);
    }

    /**
     * {@code a·bᵀ} on the last two dims: {@code a [..., M, K] · (b [..., N, K])ᵀ → [..., M, N]}, batch dims as
     * {@link #matmul}. The backward products ({@code dA = dY·Bᵀ}, {@code dW = dY·colsᵀ}, {@code Q·Kᵀ}) without a
     * transposed copy where the backend's GEMM reads B as rows. Default: {@code matmul(a, permute(b))} (the spec).
     */
    default Tensor matmulNT(Tensor a, Tensor b) {
        int r = b.rank();
        if (r < 2) throw new IllegalArgumentException("matmulNT: b needs rank ≥ 2, got " + Shapes.str(b.shape()));
        int[] dims = new int[r];
        for (int i = 0; i < r; i++) dims[i] = i;
        dims[r - 2] = r - 1;
        dims[r - 1] = r - 2;
        try (TensorScope s = TensorScope.open()) {
            return s.keep(matmul(a, permute(b, dims)));
        }
    }

    /**
     * {@link #attention} backward without a relative-position bias: {@code P = softmax((q·scale)·kᵀ)} recomputed,
     * {@code dV = Pᵀ·dO}, {@code dS = softmaxBackward(P, dO·Vᵀ)}, {@code dq = scale·dS·k}, {@code dk = scale·dSᵀ·q}.
     * Default: exactly that from {@link #matmul}, {@link #permute}, {@link #softmax}, {@link #softmaxBackward}
     * ({@code [B, Nq, Nk]} materialised); a fused kernel would recompute P in tiles.
     */
    default AttentionGrads attentionBackward(Tensor q, Tensor k, Tensor v, float scale, Tensor dOut) {
        try (TensorScope s = TensorScope.open()) {
            Tensor p = softmax(matmulNT(scale(q, scale), k));
            Tensor dv = matmul(permute(p, 0, 2, 1), dOut);
            Tensor ds = softmaxBackward(p, matmulNT(dOut, v));
            Tensor dq = scale(matmul(ds, k), scale);
            Tensor dk = scale(matmul(permute(ds, 0, 2, 1), q), scale);
            return s.keep(new AttentionGrads(dq, dk, dv));
        }
    }

    /** The gradients of {@link #attentionBackward}; closing it closes all three. */
    record AttentionGrads(Tensor dq, Tensor dk, Tensor dv) implements AutoCloseable {
        @Override
        public void close() {
            dq.close();
            dk.close();
            dv.close();
        }
    }

    // ------------------------------------------------------------------ optimiser ops (model/train's AdamW)
    // So that parameters, moments and gradients stay where they live; reference: OptimizerOps.

    /**
     * Σ x² of each tensor (null: 0), summed in double: the squared gradient norms for clipping, with one device-to-host
     * copy for all of them. Default: the host loop of {@link OptimizerOps#sumSquares} (a download per tensor off the CPU).
     */
    default double[] sumSquares(List<Tensor> tensors) {
        return OptimizerOps.sumSquares(this, tensors);
    }

    /**
     * One AdamW step in place on {@code param} and its moments {@code m}, {@code v} (tensors of this backend with the
     * same number of elements; {@code grad} null: a zero gradient), as {@link OptimizerOps#adamw} computes it in
     * double. Default: that host loop on CPU tensors; a device backend must have its own.
     */
    default void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step) {
        if (device() != Device.CPU) throw new UnsupportedOperationException(name() + " has no in-place AdamW op");
        OptimizerOps.adamw(param, grad, m, v, step);
    }

    /**
     * The scalars of one {@link #adamw} step: learning rate and decoupled weight decay, β1, β2, ε, the factor the
     * gradient is multiplied by (clipping; 1 without), and the bias corrections {@code 1 − β1^t}, {@code 1 − β2^t}.
     */
    record AdamWStep(double lr, double weightDecay, double beta1, double beta2, double eps, double gradScale, double bias1, double bias2) {}
}
