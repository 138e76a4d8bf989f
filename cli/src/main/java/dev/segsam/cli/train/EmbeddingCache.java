package dev.segsam.cli.train;

import dev.segsam.cli.predict.Progress;
import dev.segsam.io.safetensors.SafeTensorsFile;
import dev.segsam.io.safetensors.SafeTensorsWriter;
import dev.segsam.model.preprocess.Preprocessor;
import dev.segsam.model.sam.SamModel;
import dev.segsam.model.train.TrainSample;
import dev.segsam.tensor.Tensor;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The frozen image encoder's outputs f_v, computed once per image and kept on disk as safetensors (one tensor per
 * sample id) under {@code ${SEGSAM_CACHE:-~/.cache/segsam/embeddings}}. The file name carries a SHA-256 over the
 * encoder's weights, the input size and the data set name, so a changed encoder never reuses stale embeddings.
 */
public final class EmbeddingCache {
    private EmbeddingCache() {}

    public static Path defaultDir() {
        String env = System.getenv("SEGSAM_CACHE");
        return env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache", "segsam", "embeddings");
    }

    /** SHA-256 (hex, 16 chars) of every {@code image_encoder.*} tensor's values, in name order. */
    public static String encoderHash(Map<String, Tensor> weights) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (var e : new java.util.TreeMap<>(weights).entrySet()) {
                if (!e.getKey().startsWith("image_encoder.")) continue;
                md.update(e.getKey().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                md.update(e.getValue().data().asByteBuffer());
            }
            return HexFormat.of().formatHex(md.digest()).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** f_v for every sample: read from the cache file when it has them all, else computed (with progress) and written. */
    public static Map<String, Tensor> load(SamModel sam, Map<String, Tensor> weights, String dataName, List<TrainSample> samples,
                                           Map<String, Preprocessor.Preprocessed> frames, Path dir, PrintWriter err) throws IOException {
        Path file = dir.resolve("emb-" + dataName + "-" + sam.config().imgSize() + "-" + encoderHash(weights) + ".safetensors");
        Map<String, Tensor> out = new LinkedHashMap<>();
        if (Files.exists(file)) {
            try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
                if (samples.stream().allMatch(s -> f.contains(s.id()))) {
                    for (TrainSample s : samples) out.put(s.id(), f.get(s.id()).copy());
                    err.println("embeddings: " + samples.size() + " from " + file);
                    return out;
                }
            } catch (IOException e) {
                err.println("embeddings: ignoring unreadable cache " + file + " (" + e.getMessage() + ")");
            }
        }
        Progress bar = new Progress(err, "embeddings", samples.size(), true);
        int k = 0;
        for (TrainSample s : samples) {
            out.put(s.id(), sam.encode(frames.get(s.id()).input(), null));
            bar.update(++k, "images");
        }
        try {
            Files.createDirectories(dir);
            SafeTensorsWriter w = new SafeTensorsWriter();
            out.forEach(w::add);
            w.metadata("data", dataName).metadata("encoder_sha256_16", encoderHash(weights));
            w.write(file, true);
        } catch (IOException e) {
            err.println("embeddings: could not write the cache " + file + " (" + e.getMessage() + "); continuing without it");
        }
        return out;
    }
}
