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
 *
 * <p>Embeddings computed elsewhere ({@code segsam spark embed}, docs/DISTRIBUTED.md) come as shards: safetensors files
 * of the same form ({@code shard-*.safetensors}, one tensor per sample id) in the folder {@link #shardsDir} of the
 * same key, next to the cache file. Samples found in neither are computed here.
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

    /** The folder of embedding shards for a data set, an input size and an encoder ({@link #encoderHash}). */
    public static Path shardsDir(Path dir, String dataName, int imgSize, String encoderHash) {
        return dir.resolve("emb-" + dataName + "-" + imgSize + "-" + encoderHash + ".shards");
    }

    /**
     * f_v for every sample: read from the cache file when it has them all, else from the cache file and the shards
     * ({@link #shardsDir}), the rest computed (with progress); when any was computed, all are written to the cache file.
     */
    public static Map<String, Tensor> load(SamModel sam, Map<String, Tensor> weights, String dataName, List<TrainSample> samples,
                                           Map<String, Preprocessor.Preprocessed> frames, Path dir, PrintWriter err) throws IOException {
        String hash = encoderHash(weights);
        Path file = dir.resolve("emb-" + dataName + "-" + sam.config().imgSize() + "-" + hash + ".safetensors");
        Map<String, Tensor> found = new java.util.HashMap<>();
        if (Files.exists(file)) {
            try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
                for (TrainSample s : samples) if (f.contains(s.id())) found.put(s.id(), f.get(s.id()).copy());
            } catch (IOException e) {
                err.println("embeddings: ignoring unreadable cache " + file + " (" + e.getMessage() + ")");
            }
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        if (found.size() == samples.size()) {
            for (TrainSample s : samples) out.put(s.id(), found.get(s.id()));
            err.println("embeddings: " + samples.size() + " from " + file);
            return out;
        }
        Path shards = shardsDir(dir, dataName, sam.config().imgSize(), hash);
        int fromShards = Files.isDirectory(shards) ? readShards(shards, hash, samples, found, err) : 0;
        List<TrainSample> missing = samples.stream().filter(s -> !found.containsKey(s.id())).toList();
        if (fromShards > 0) err.println("embeddings: " + fromShards + " from shards in " + shards + (missing.isEmpty() ? "" : ", " + missing.size() + " to compute"));
        if (!missing.isEmpty()) {
            Progress bar = new Progress(err, "embeddings", missing.size(), true);
            int k = 0;
            for (TrainSample s : missing) {
                Tensor fv = sam.encode(frames.get(s.id()).input(), null);
                found.put(s.id(), sam.backend().download(fv)); // host values for the cache file (on the CPU: fv itself)
                bar.update(++k, "images");
            }
        }
        for (TrainSample s : samples) out.put(s.id(), found.get(s.id()));
        if (missing.isEmpty()) return out;
        try {
            Files.createDirectories(dir);
            SafeTensorsWriter w = new SafeTensorsWriter();
            out.forEach(w::add);
            w.metadata("data", dataName).metadata("encoder_sha256_16", hash);
            w.write(file, true);
        } catch (IOException e) {
            err.println("embeddings: could not write the cache " + file + " (" + e.getMessage() + "); continuing without it");
        }
        return out;
    }

    /** Copies into {@code found} the samples it lacks that a shard of {@code shards} holds; returns how many. */
    private static int readShards(Path shards, String hash, List<TrainSample> samples, Map<String, Tensor> found, PrintWriter err) throws IOException {
        List<Path> files;
        try (var s = Files.list(shards)) {
            files = s.filter(p -> p.getFileName().toString().startsWith("shard-") && p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
        }
        int n = 0;
        for (Path p : files) {
            try (SafeTensorsFile f = SafeTensorsFile.open(p)) {
                String h = f.metadata().get("encoder_sha256_16");
                if (h != null && !h.equals(hash)) {
                    err.println("embeddings: ignoring shard " + p + " of another encoder (" + h + ")");
                    continue;
                }
                for (TrainSample s : samples) {
                    if (!found.containsKey(s.id()) && f.contains(s.id())) {
                        found.put(s.id(), f.get(s.id()).copy());
                        n++;
                    }
                }
            } catch (IOException e) {
                err.println("embeddings: ignoring unreadable shard " + p + " (" + e.getMessage() + ")");
            }
        }
        return n;
    }
}
