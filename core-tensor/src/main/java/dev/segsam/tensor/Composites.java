package dev.segsam.tensor;

/**
 * The compositions behind {@link Backend}'s default methods, written with the backend's own ops only, so every
 * backend (the reference, CUDA, the autodiff tape) gets them for free and a fast backend can override them with a
 * fused kernel. Each method is exactly the sequence of ops the model code ran before the fused op existed.
 */
final class Composites {
    private Composites() {}

    /** See {@link Backend#multiHeadAttention}: split heads, attention, merge heads. */
    static Tensor multiHeadAttention(Backend b, Tensor q, Tensor k, Tensor v, int heads, float scale) {
        int B = q.size(0), nq = q.size(1), nk = k.size(1), d = q.size(2) / heads, dv = v.size(2) / heads;
        try (TensorScope s = TensorScope.open()) {
            Tensor o = b.attention(splitHeads(b, q, B, nq, heads, d), splitHeads(b, k, B, nk, heads, d),
                    splitHeads(b, v, B, nk, heads, dv), scale, null);                      // [B·heads, nq, dv]
            return s.keep(b.permute(o.reshape(B, heads, nq, dv), 0, 2, 1, 3).reshape(B, nq, heads * dv));
        }
    }

    /** {@code [B, n, heads·d] → [B·heads, n, d]} (channel {@code h·d + c}). */
    private static Tensor splitHeads(Backend b, Tensor x, int B, int n, int heads, int d) {
        return b.permute(x.reshape(B, n, heads, d), 0, 2, 1, 3).reshape(B * heads, n, d);
    }

    /** See {@link Backend#encoderAttention}: window partition, qkv, heads, rel-pos attention, merge, proj, unpartition. */
    static Tensor encoderAttention(Backend b, Tensor x, Tensor qkvW, Tensor qkvB, Tensor projW, Tensor projB, int heads, int window,
                                   Tensor relPosH, Tensor relPosW) {
        int H = x.size(1), W = x.size(2);
        if (window <= 0) return globalAttention(b, x, qkvW, qkvB, projW, projB, heads, relPosH, relPosW);
        try (TensorScope s = TensorScope.open()) {
            Backend.Windows w = b.windowPartition(x, window);
            Tensor o = globalAttention(b, w.windows(), qkvW, qkvB, projW, projB, heads, relPosH, relPosW);
            return s.keep(b.windowUnpartition(o, window, w.paddedH(), w.paddedW(), H, W));
        }
    }

    /** SAM's {@code Attention.forward} on {@code x [B, H, W, D]}: every token attends to every token of its image. */
    private static Tensor globalAttention(Backend b, Tensor x, Tensor qkvW, Tensor qkvB, Tensor projW, Tensor projB, int heads,
                                          Tensor relPosH, Tensor relPosW) {
        int B = x.size(0), H = x.size(1), W = x.size(2), D = x.size(3), hd = D / heads, N = H * W;
        try (TensorScope s = TensorScope.open()) {
            Tensor qkv = b.linear(x.reshape(B * N, D), qkvW, qkvB);
            Tensor p = b.permute(qkv.reshape(B, N, 3, heads, hd), 2, 0, 3, 1, 4);             // [3, B, heads, N, hd]
            Tensor q = b.slice(p, 0, 0, 1).reshape(B * heads, N, hd);
            Tensor k = b.slice(p, 0, 1, 1).reshape(B * heads, N, hd);
            Tensor v = b.slice(p, 0, 2, 1).reshape(B * heads, N, hd);
            var rel = new Backend.RelPos(b.relPosLookup(relPosH, H, H), b.relPosLookup(relPosW, W, W), H, W, H, W);
            Tensor o = b.attention(q, k, v, (float) Math.pow(hd, -0.5), rel);
            Tensor merged = b.permute(o.reshape(B, heads, H, W, hd), 0, 2, 3, 1, 4);          // [B, H, W, heads, hd]
            return s.keep(b.linear(merged.reshape(B, H, W, D), projW, projB));
        }
    }

    /**
     * See {@link Backend#classMaps}: softmax and argmax over channels-last logits, {@code 1 − p_0} by a slice, the region
     * means as {@code selection [B, 1, HW] · p [B, HW, K]} with the 0/1 selection (scaled by 1/count) built on the host.
     */
    static Backend.ClassMaps classMaps(Backend b, Tensor logits, Tensor region) {
        int[] s = CpuBackend.classMapsShape(logits, region);
        int B = s[0], K = s[1], H = s[2], W = s[3], hw = H * W;
        try (TensorScope sc = TensorScope.open()) {
            Tensor x = b.permute(logits, 0, 2, 3, 1), p = b.softmax(x); // [B, H, W, K]
            int[] label = b.argmax(x);
            float[] r = b.download(region).toArray();
            float[] labels = new float[B * hw], sel = new float[B * hw];
            for (int im = 0; im < B; im++) {
                int o = im * hw, fgCount = 0, regionCount = 0;
                for (int i = 0; i < hw; i++) {
                    labels[o + i] = label[o + i];
                    if (label[o + i] != 0) fgCount++;
                    if (r[o + i] > 0f) regionCount++;
                }
                int n = fgCount > 0 ? fgCount : regionCount;
                for (int i = 0; i < hw && n > 0; i++) {
                    if (fgCount > 0 ? label[o + i] != 0 : r[o + i] > 0f) sel[o + i] = 1f / n;
                }
            }
            Tensor fg = b.sub(b.upload(Tensor.scalar(1f)), b.slice(p, 3, 0, 1));                 // 1 − p_0
            Tensor means = b.matmul(b.upload(Tensor.of(sel, B, 1, hw)), p.reshape(B, hw, K));  // selection · p
            return sc.keep(new Backend.ClassMaps(b.upload(Tensor.of(labels, B, H, W)), fg.reshape(B, H, W), means.reshape(B, K)));
        }
    }
}
