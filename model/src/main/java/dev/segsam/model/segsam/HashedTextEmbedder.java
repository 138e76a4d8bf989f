package dev.segsam.model.segsam;

import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * segsam's built-in text embedder: deterministic, no weights, fully offline — the stand-in for the paper's
 * LLM-written descriptions run through a text encoder (docs/design/segsam.md §2.3). A text becomes a bag of features
 * <ul>
 *   <li>words (lower-cased, accents stripped, split on anything that is not a letter or digit),</li>
 *   <li>word bigrams ({@code "left|kidney"}),</li>
 *   <li>character trigrams of each word with boundary marks ({@code "<ki", "kid", …, "ey>"}),</li>
 * </ul>
 * each hashed (FNV-1a 64) into one of {@code dim} buckets with a sign taken from another hash bit, weighted
 * {@code 1 + log(count)} (words ×2, bigrams ×1.5, trigrams ×0.5), then L2-normalised. Texts that share words and
 * word pieces get similar embeddings; unrelated texts are nearly orthogonal. Mirrored by
 * {@code tools/reference/segsam_reference.py} (same features, hashes and weights).
 */
public final class HashedTextEmbedder {
    private final int dim;

    public HashedTextEmbedder(int dim) {
        if (dim <= 0) throw new IllegalArgumentException("embedding dim " + dim);
        this.dim = dim;
    }

    public int dim() {
        return dim;
    }

    /** The embedding of {@code text}: {@code dim} floats with unit L2 norm (all zero for a text with no words). */
    public float[] embed(String text) {
        List<String> words = words(text);
        java.util.Map<String, double[]> features = new java.util.TreeMap<>(); // sorted: a fixed summation order
        for (int i = 0; i < words.size(); i++) {
            String w = words.get(i);
            add(features, "w:" + w, 2.0);
            if (i + 1 < words.size()) add(features, "b:" + w + "|" + words.get(i + 1), 1.5);
            String padded = "<" + w + ">";
            for (int j = 0; j + 3 <= padded.length(); j++) add(features, "c:" + padded.substring(j, j + 3), 0.5);
        }
        double[] v = new double[dim];
        for (var e : features.entrySet()) {
            long h = fnv1a64(e.getKey());
            int bucket = (int) Long.remainderUnsigned(h, dim);
            double sign = (h >>> 63) == 0 ? 1.0 : -1.0;
            double count = e.getValue()[0], weight = e.getValue()[1];
            v[bucket] += sign * weight * (1.0 + Math.log(count));
        }
        double norm = 0;
        for (double x : v) norm += x * x;
        norm = Math.sqrt(norm);
        float[] out = new float[dim];
        if (norm > 0) for (int i = 0; i < dim; i++) out[i] = (float) (v[i] / norm);
        return out;
    }

    private static void add(java.util.Map<String, double[]> f, String key, double weight) {
        f.computeIfAbsent(key, k -> new double[] {0, weight})[0] += 1;
    }

    /** Lower-cased words of letters and digits, accents removed. */
    static List<String> words(String text) {
        String t = Normalizer.normalize(text, Normalizer.Form.NFKD).replaceAll("\\p{M}", "").toLowerCase(Locale.ROOT);
        List<String> out = new ArrayList<>();
        for (String w : t.split("[^\\p{L}\\p{N}]+")) if (!w.isEmpty()) out.add(w);
        return out;
    }

    static long fnv1a64(String s) {
        long h = 0xCBF29CE484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) h = (h ^ (b & 0xFF)) * 0x100000001B3L;
        return h;
    }
}
