package dev.segsam.cli.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.segsam.io.IoLimits;
import dev.segsam.io.image.ImageFiles;
import dev.segsam.tensor.Options;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Base64;

/** A server on the embedded demo model on an ephemeral loopback port, and a small client for its API. */
final class ServerFixture {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String DEMO = "/dev/segsam/cli/demo/";
    /** The demo's liver box (its prompts.json) and the liver's ground truth (truth_0.png). */
    static final String LIVER_BOX = "[{\"box\": [46, 84, 135, 160]}]";

    final SegServer server;
    final String base;
    final HttpClient http = HttpClient.newHttpClient();

    record Reply(int status, byte[] body, String type) {
        JsonNode json() throws IOException {
            return JSON.readTree(body);
        }

        String text() {
            return new String(body, java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    ServerFixture(Path dir, long maxUpload, int workers, int queue) throws IOException {
        Path model = resource("segsam-demo.safetensors", dir);
        server = SegServer.start(new SegServer.Config(model, "segsam-demo.safetensors", "127.0.0.1", 0, maxUpload, 256L << 20, workers, queue, 8,
                1L << 30, null, Options.fromSystemProperties(), IoLimits.defaults()));
        base = "http://127.0.0.1:" + server.port();
    }

    static Path resource(String name, Path dir) throws IOException {
        Path p = dir.resolve(name);
        try (InputStream in = ServerFixture.class.getResourceAsStream(DEMO + name)) {
            if (in == null) throw new IOException("no embedded demo file " + name);
            Files.copy(in, p, StandardCopyOption.REPLACE_EXISTING);
        }
        return p;
    }

    static byte[] resourceBytes(String name) throws IOException {
        try (InputStream in = ServerFixture.class.getResourceAsStream(DEMO + name)) {
            return in.readAllBytes();
        }
    }

    Reply send(HttpRequest.Builder b) throws IOException, InterruptedException {
        HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
        return new Reply(r.statusCode(), r.body(), r.headers().firstValue("Content-Type").orElse(""));
    }

    Reply get(String path) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(URI.create(base + path)).GET());
    }

    Reply post(String path, byte[] body) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(URI.create(base + path)).POST(HttpRequest.BodyPublishers.ofByteArray(body)));
    }

    Reply post(String path, String body) throws IOException, InterruptedException {
        return post(path, body.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /** Uploads the embedded demo slice; returns its image id. */
    String uploadDemo() throws Exception {
        Reply r = post("/api/images?name=sample.png", resourceBytes("sample.png"));
        if (r.status() != 201) throw new AssertionError(r.status() + " " + r.text());
        return r.json().get("id").asText();
    }

    /** The mask (non-zero pixels) of a base64 grey PNG. */
    static boolean[] mask(String base64Png) throws IOException {
        ImageFiles.Mask m = ImageFiles.readMask(new ByteArrayInputStream(Base64.getDecoder().decode(base64Png)), "mask.png");
        boolean[] out = new boolean[m.inside().length];
        for (int i = 0; i < out.length; i++) out[i] = m.inside()[i] != 0;
        return out;
    }

    /** A NIfTI CT volume: a disc of soft tissue (60 HU) in air whose radius grows with z (8 + z voxels). */
    static Path discVolume(Path file, int nx, int ny, int nz) throws IOException {
        float[] v = new float[nx * ny * nz];
        for (int z = 0; z < nz; z++) {
            for (int y = 0; y < ny; y++) {
                for (int x = 0; x < nx; x++) v[(z * ny + y) * nx + x] = Math.hypot(x - nx / 2, y - ny / 2) < 8 + z ? 60 : -1000;
            }
        }
        try (dev.segsam.io.medical.Volume vol = dev.segsam.io.medical.Volume.builder(dev.segsam.tensor.Tensor.of(v, nz, ny, nx)).spacing(1, 1, 2).build()) {
            dev.segsam.io.medical.nifti.NiftiWriter.write(file, vol.withData(vol.data(), "int16"), dev.segsam.io.medical.nifti.NiftiDataType.INT16, false);
        }
        return file;
    }

    static int count(boolean[] m) {
        int n = 0;
        for (boolean b : m) if (b) n++;
        return n;
    }
}
