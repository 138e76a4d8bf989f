package dev.segsam.cli.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.segsam.cli.predict.Conventions;
import dev.segsam.cli.predict.LabelMapImage;
import dev.segsam.cli.predict.PredictionOutput;
import dev.segsam.cli.predict.PromptParser;
import dev.segsam.io.Checkpoint;
import dev.segsam.io.InputFormat;
import dev.segsam.io.IoLimits;
import dev.segsam.io.image.ImageFiles;
import dev.segsam.io.medical.MedicalImages;
import dev.segsam.io.medical.Volume;
import dev.segsam.model.DecoderWarmup;
import dev.segsam.model.Masks;
import dev.segsam.model.Predictor;
import dev.segsam.model.Prompt;
import dev.segsam.model.preprocess.Preprocessor.Convention;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.Options;
import dev.segsam.tensor.image.RgbImage;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code segsam serve}: interactive segmentation over HTTP — the page ({@code index.html}) and its JSON API (README,
 * "Interactive segmentation in the browser"). Built on the JDK's {@link HttpServer}; every model call goes through the
 * library ({@link Predictor}) exactly as {@code segsam predict} makes it, and downloads are {@link PredictionOutput}'s
 * files.
 *
 * <p>Images are uploaded as request bodies into a private temporary folder (deleted on {@link #close()}); the client
 * names images, views and results by ids the server made, never by paths. A view's embedding is computed once on the
 * compute pool and kept in an {@link EmbeddingCache} bounded by memory; prompts then cost one decoder pass.
 *
 * <p>Defences: requests whose {@code Origin} is not this server, or which a browser marks {@code Sec-Fetch-Site:
 * cross-site/same-site}, are refused (403) for the API, as are (on a loopback bind) {@code Host} headers naming
 * another host (DNS rebinding); uploads stop at a size limit (413); the compute pool has a bounded queue (503 when
 * full); the HTTP pool has bounded threads and queue (connections past it are closed). Every refusal is a 4xx/5xx with
 * a one-line JSON body {@code {"error": "..."}}.
 */
public final class SegServer implements AutoCloseable {
    /**
     * Settings of one server.
     *
     * @param model          weights file
     * @param modelName      the model's name in answers and result.json
     * @param host           address to bind (loopback unless the caller allowed otherwise)
     * @param port           port (0: any free one)
     * @param maxUploadBytes largest upload accepted (also the most a zipped series may unpack to, times 4)
     * @param cacheBytes     memory budget of cached embeddings
     * @param workers        compute threads (encodes and decodes)
     * @param queue          compute requests that may wait; more get 503
     * @param maxImages      uploaded images kept (least recently used dropped)
     * @param imageBytes     memory for uploaded images' voxels/pixels (least recently used dropped past it; the newest stays)
     * @param convention     sam|medsam or null (the model's)
     */
    public record Config(Path model, String modelName, String host, int port, long maxUploadBytes, long cacheBytes,
                         int workers, int queue, int maxImages, long imageBytes, String convention, Options options, IoLimits limits) {}

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_PROMPTS = 64, MAX_PROMPT_BYTES = 1 << 20, MAX_RESULTS = 256;
    private static final Pattern IMAGE_PATH = Pattern.compile("/api/images/([a-z0-9]+)(/view\\.png|/encode|/predict)?");
    /** A result's files: the names {@code segsam predict} writes (letters and _, an optional number; no paths). */
    private static final Pattern RESULT_PATH = Pattern.compile("/api/results/([a-z0-9]+)/([a-z]+(?:_[a-z]+)*(?:_\\d{1,3})?\\.(?:png|json|nii\\.gz|dcm))");

    private final Config config;
    private final Checkpoint weights;
    private final SegSam model;
    private final Predictor predictor;
    private final Convention convention;
    private final Backend backend;
    private final List<String> classNames;
    private final HttpServer http;
    private final ThreadPoolExecutor httpPool, compute;
    private final int workers;
    private final EmbeddingCache cache;
    private final Path uploads;
    private final Set<String> hosts;
    private final boolean loopback;
    private final AtomicLong ids = new AtomicLong(System.nanoTime() & 0xffffff);
    private final LinkedHashMap<String, ImageSession> sessions = new LinkedHashMap<>(16, 0.75f, true);
    private final LinkedHashMap<String, ResultRecord> results = new LinkedHashMap<>(16, 0.75f, true);
    private final byte[] page;
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
    /** Set by the first encode of this server, which also warms up the decoder (model/DecoderWarmup). */
    private final java.util.concurrent.atomic.AtomicBoolean decoderWarmed = new java.util.concurrent.atomic.AtomicBoolean();

    /** What a result id stands for: prompts on a view of an image (the result files are made from it again). */
    private record ResultRecord(String image, ImageSession.View view, List<Prompt> prompts) {}

    /** Loads the model, binds and starts serving. */
    public static SegServer start(Config c) throws IOException {
        // the JDK server waits forever for a slow request by default: a client trickling bytes would hold an HTTP
        // thread; give each request and answer 10 minutes (read once, when the server classes load; -D overrides)
        if (System.getProperty("sun.net.httpserver.maxReqTime") == null) System.setProperty("sun.net.httpserver.maxReqTime", "600");
        if (System.getProperty("sun.net.httpserver.maxRspTime") == null) System.setProperty("sun.net.httpserver.maxRspTime", "600");
        return new SegServer(c);
    }

    private SegServer(Config c) throws IOException {
        this.config = c;
        try (InputStream in = SegServer.class.getResourceAsStream("index.html")) {
            if (in == null) throw new IOException("this build has no serve/index.html");
            page = in.readAllBytes();
        }
        backend = Backends.select(c.options());
        weights = Checkpoint.open(c.model(), c.limits());
        Path folder = null;
        try {
            model = SegSam.load(weights, backend);
            convention = Conventions.choose(c.convention(), model);
            predictor = new Predictor(model, convention, c.options());
            classNames = model.hasSemantics() ? model.config().classNames() : List.of();
            uploads = folder = Files.createTempDirectory("segsam-serve");
            cache = new EmbeddingCache(c.cacheBytes());
            // on a GPU one worker: the backend's work goes through one stream anyway, and the CUDA path has not been
            // run from several threads at once (no GPU in the session that wrote this); on the CPU, --workers
            workers = backend.device() == dev.segsam.tensor.Device.CPU ? c.workers() : 1;
            compute = new ThreadPoolExecutor(workers, workers, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(c.queue()),
                    daemon("segsam-compute"));
            httpPool = new ThreadPoolExecutor(16, 16, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(256), daemon("segsam-http"));
            InetAddress addr = InetAddress.getByName(c.host());
            loopback = addr.isLoopbackAddress();
            try {
                http = HttpServer.create(new InetSocketAddress(addr, c.port()), 64);
            } catch (java.net.BindException e) {
                throw new IOException("cannot listen on " + c.host() + ":" + c.port() + ": " + e.getMessage() + " (choose another --port; 0 picks a free one)", e);
            }
            http.createContext("/", this::handle);
            http.setExecutor(httpPool);
            int p = port();
            hosts = new java.util.HashSet<>(List.of("127.0.0.1:" + p, "localhost:" + p, "[::1]:" + p, c.host().toLowerCase(Locale.ROOT) + ":" + p));
            http.start();
        } catch (IOException | RuntimeException e) {
            weights.close();
            Uploads.deleteTree(folder);
            throw e;
        }
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        AtomicLong n = new AtomicLong();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /** The bound port. */
    public int port() {
        return http.getAddress().getPort();
    }

    /** The page's address, e.g. {@code http://127.0.0.1:8080/}. */
    public String url() {
        String h = config.host().contains(":") ? "[" + config.host() + "]" : config.host();
        return "http://" + h + ":" + port() + "/";
    }

    /** The backend the model runs on, in words. */
    public String backendName() {
        return backend.name();
    }

    public SegSam model() {
        return model;
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) return;
        http.stop(0);
        httpPool.shutdownNow();
        compute.shutdownNow();
        try {
            compute.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        cache.close();
        synchronized (sessions) {
            sessions.values().forEach(ImageSession::close);
            sessions.clear();
        }
        Uploads.deleteTree(uploads);
        weights.close();
    }

    // ------------------------------------------------------------------ dispatch

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            try {
                route(ex);
            } catch (ApiException e) {
                error(ex, e.status, e.getMessage());
            } catch (PromptParser.BadPromptException e) {
                error(ex, 400, e.getMessage());
            } catch (RejectedExecutionException e) {
                ex.getResponseHeaders().set("Retry-After", "1");
                error(ex, 503, "server busy: " + config.queue() + " requests already wait for the model; try again");
            } catch (IOException e) {
                // the client went away mid-request, or the upload folder failed: answer if we still can
                error(ex, 500, "I/O error: " + oneLine(e));
            } catch (OutOfMemoryError e) { // a request too large for this JVM's heap or native memory; the server goes on
                ex.getResponseHeaders().set("Retry-After", "5");
                error(ex, 503, "out of memory for this request (" + oneLine(e) + "); a smaller image, or more memory (SEGSAM_HEAP, --cache-mb)");
            } catch (RuntimeException e) {
                System.getLogger("segsam.serve").log(System.Logger.Level.WARNING, "request " + ex.getRequestURI() + " failed", e);
                error(ex, 500, "internal error: " + oneLine(e));
            }
        }
    }

    private void route(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getRawPath(), method = ex.getRequestMethod();
        checkHost(ex);
        if (path.equals("/") || path.equals("/index.html")) {
            requireMethod(method, "GET");
            var h = ex.getResponseHeaders();
            h.set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
                    + "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'");
            h.set("X-Frame-Options", "DENY");
            send(ex, 200, "text/html; charset=utf-8", page);
            return;
        }
        if (!path.startsWith("/api/")) throw new ApiException(404, "no such page: " + path);
        checkOrigin(ex);
        if (path.equals("/api/info")) {
            requireMethod(method, "GET");
            json(ex, 200, info());
            return;
        }
        if (path.equals("/api/images")) {
            requireMethod(method, "POST");
            json(ex, 201, upload(ex).info());
            return;
        }
        if (path.equals("/api/images/demo")) { // the embedded demo slice, as if uploaded
            requireMethod(method, "POST");
            try (InputStream in = SegServer.class.getResourceAsStream("/dev/segsam/cli/demo/sample.png")) {
                if (in == null) throw new ApiException(404, "this build has no embedded demo slice");
                json(ex, 201, store("sample.png", in).info());
            }
            return;
        }
        Matcher m = IMAGE_PATH.matcher(path);
        if (m.matches()) {
            ImageSession s = session(m.group(1));
            Map<String, String> q = query(ex);
            String op = m.group(2);
            if (op == null) {
                if (method.equals("DELETE")) {
                    delete(s);
                    json(ex, 200, Map.of("deleted", s.id));
                } else {
                    requireMethod(method, "GET");
                    json(ex, 200, s.info());
                }
                return;
            }
            ImageSession.View v = s.view(q.get("axis"), q.get("index"), q.get("window"));
            switch (op) {
                case "/view.png" -> {
                    requireMethod(method, "GET");
                    send(ex, 200, "image/png", ImageFiles.png(s.render(v), true));
                }
                case "/encode" -> {
                    requireMethod(method, "POST");
                    json(ex, 200, encodeState(s, v));
                }
                default -> {
                    requireMethod(method, "POST");
                    json(ex, 200, predict(ex, s, v));
                }
            }
            return;
        }
        m = RESULT_PATH.matcher(path);
        if (m.matches()) {
            requireMethod(method, "GET");
            download(ex, m.group(1), m.group(2));
            return;
        }
        throw new ApiException(404, "no such API endpoint: " + path);
    }

    private static void requireMethod(String method, String want) {
        if (!method.equals(want)) throw new ApiException(405, "method " + method + " is not allowed here (use " + want + ")");
    }

    /** On a loopback bind, the Host header must name this server (a DNS-rebinding page would send its own name). */
    private void checkHost(HttpExchange ex) {
        if (!loopback) return;
        String host = ex.getRequestHeaders().getFirst("Host");
        if (host == null || !hosts.contains(host.toLowerCase(Locale.ROOT))) {
            throw new ApiException(403, "request for host '" + host + "' refused: this server answers to 127.0.0.1:" + port() + " and localhost:" + port());
        }
    }

    /** API requests from pages of other origins are refused (CSRF): browsers send Origin / Sec-Fetch-Site; scripts need not. */
    private void checkOrigin(HttpExchange ex) {
        var h = ex.getRequestHeaders();
        String origin = h.getFirst("Origin"), host = h.getFirst("Host"), site = h.getFirst("Sec-Fetch-Site");
        if (origin != null && (host == null || !origin.equalsIgnoreCase("http://" + host))) {
            throw new ApiException(403, "cross-origin request refused (Origin " + origin + " is not this server)");
        }
        if (site != null && (site.equalsIgnoreCase("cross-site") || site.equalsIgnoreCase("same-site"))) {
            throw new ApiException(403, "cross-origin request refused (Sec-Fetch-Site: " + site + ")");
        }
    }

    // ------------------------------------------------------------------ images

    private Map<String, Object> info() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", config.modelName());
        m.put("model_config", model.sam().config().name());
        m.put("semantic", model.hasSemantics());
        List<Map<String, Object>> classes = new ArrayList<>();
        for (int k = 1; k <= classNames.size(); k++) classes.add(Map.of("id", k, "name", classNames.get(k - 1), "colour", colour(k)));
        m.put("classes", classes);
        m.put("convention", convention.name().toLowerCase(Locale.ROOT));
        m.put("backend", backend.name());
        m.put("encoder_blocks", predictor.encoderBlocks());
        m.put("workers", workers);
        m.put("max_upload_bytes", config.maxUploadBytes());
        m.put("cache", cache.stats());
        return m;
    }

    static String colour(int k) {
        int[] c = LabelMapImage.colour(k);
        return String.format(Locale.ROOT, "#%02x%02x%02x", c[0], c[1], c[2]);
    }

    private ImageSession session(String id) {
        synchronized (sessions) {
            ImageSession s = sessions.get(id);
            if (s == null) throw new ApiException(404, "no image " + id + " (it may have been dropped: the server keeps the last " + config.maxImages() + ")");
            return s;
        }
    }

    private void delete(ImageSession s) {
        synchronized (sessions) {
            sessions.remove(s.id);
        }
        cache.dropAll(s.id + "/");
        s.close();
    }

    /** {@code POST /api/images?name=FILE}: the body is the file. */
    private ImageSession upload(HttpExchange ex) throws IOException {
        String len = ex.getRequestHeaders().getFirst("Content-Length");
        if (len != null) {
            try {
                if (Long.parseLong(len.strip()) > config.maxUploadBytes()) {
                    Uploads.drain(ex.getRequestBody());
                    throw Uploads.tooLarge(config.maxUploadBytes());
                }
            } catch (NumberFormatException e) {
                throw new ApiException(400, "bad Content-Length " + len);
            }
        }
        return store(safeName(query(ex).getOrDefault("name", "upload")), ex.getRequestBody());
    }

    /** Reads an image from {@code body} into a new session (the least recently used ones past the limit are dropped). */
    private ImageSession store(String name, InputStream body) throws IOException {
        String id = "i" + Long.toString(ids.incrementAndGet(), 36);
        Path dir = uploads.resolve(id);
        Files.createDirectories(dir);
        try {
            Path file = dir.resolve("upload-" + name);
            long n = Uploads.copyLimited(body, file, config.maxUploadBytes());
            if (n == 0) throw new ApiException(400, "empty upload: send the file as the request body");
            // decoding runs on the compute pool: a burst of uploads waits in its bounded queue (or gets 503)
            ImageSession s = onCompute(() -> read(id, name, dir, file));
            List<ImageSession> dropped = new ArrayList<>();
            synchronized (sessions) {
                sessions.put(id, s);
                long bytes = 0;
                for (ImageSession o : sessions.values()) bytes += o.bytes();
                var it = sessions.values().iterator();
                while ((sessions.size() > config.maxImages() || bytes > config.imageBytes()) && it.hasNext()) {
                    ImageSession o = it.next();
                    if (o == s) break; // the newest stays, whatever its size
                    dropped.add(o);
                    bytes -= o.bytes();
                    it.remove();
                }
            }
            for (ImageSession d : dropped) {
                cache.dropAll(d.id + "/");
                d.close();
            }
            return s;
        } catch (IOException | RuntimeException e) {
            Uploads.deleteTree(dir);
            throw e;
        }
    }

    private ImageSession read(String id, String name, Path dir, Path file) {
        String where = dir.toString(), fileText = file.toString();
        try {
            if (Uploads.isZip(file)) {
                Path series = dir.resolve("series");
                int files = Uploads.unzipFlat(file, series, 4 * config.maxUploadBytes());
                Files.delete(file);
                Volume v = MedicalImages.read(series, 0, config.limits());
                return new ImageSession(id, name, dir, null, v, "DICOM series of " + files + " files, " + describe(v));
            }
            if (InputFormat.detect(file) == InputFormat.PICTURE) {
                var img = ImageFiles.read(file, config.limits());
                return new ImageSession(id, name, dir, img.image(), null, img.describe());
            }
            Volume v = MedicalImages.read(file, 0, config.limits());
            return new ImageSession(id, name, dir, null, v, describe(v));
        } catch (ApiException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            // messages name the server's copy: show the client its own file name instead
            String msg = oneLine(e).replace(fileText, name).replace(where + "/series", name).replace(where, name);
            throw new ApiException(400, "cannot read " + name + ": " + msg);
        }
    }

    private static String describe(Volume v) {
        String s = v.toString();
        int at = s.indexOf(" from /");
        return at < 0 ? s : s.substring(0, at); // no server paths in answers
    }

    /** A file name safe for the upload folder and result.json: letters, digits, {@code . _ -}; at most 100 chars. */
    static String safeName(String raw) {
        String base = raw.substring(Math.max(raw.lastIndexOf('/'), raw.lastIndexOf('\\')) + 1);
        String s = base.replaceAll("[^A-Za-z0-9._-]", "_");
        while (s.startsWith(".")) s = s.substring(1);
        if (s.length() > 100) s = s.substring(s.length() - 100);
        return s.isEmpty() ? "upload" : s;
    }

    // ------------------------------------------------------------------ encoding

    /** The cached (or newly started) encoding of a view, acquired: release it through the cache when done. */
    private EmbeddingCache.Entry encoding(ImageSession s, ImageSession.View v) {
        return cache.acquire(s.id + "/" + v.key(), () -> s.render(v), predictor.encoderBlocks(), e -> compute.execute(() -> {
            if (!cache.begin(e)) return;
            // The first encode of the process also compiles the decode path (a few throw-away decodes on a synthetic
            // embedding while the image is encoded, docs/PERF.md "cold start"), so the first click is not the slow one.
            DecoderWarmup warmup = decoderWarmed.compareAndSet(false, true) ? startWarmup(e.image) : null;
            try (warmup) {
                Predictor.Encoded enc = predictor.encode(e.image, i -> e.done.set(i + 1));
                cache.completed(e, enc, bytes(enc));
            } catch (Throwable t) {
                cache.failed(e, t);
            }
        }));
    }

    /** The decoder warm-up for the first image, or null: it only saves time, so a failure to start it is not the encode's. */
    private DecoderWarmup startWarmup(RgbImage img) {
        try {
            return DecoderWarmup.start(predictor, img.height(), img.width(),
                    Prompt.box(img.width() * 0.25f, img.height() * 0.25f, img.width() * 0.75f, img.height() * 0.75f), DecoderWarmup.DEFAULT_DECODES);
        } catch (RuntimeException x) {
            return null;
        }
    }

    /** An encoding's memory: f_v, t'_text and the model input now, plus the decoders' per-image contexts once made. */
    private static java.util.function.LongSupplier bytes(Predictor.Encoded enc) {
        long n = enc.features().fv().numel() + enc.image().input().numel();
        if (enc.features().textSummary() != null) n += enc.features().textSummary().numel();
        long fixed = 4 * n;
        var contexts = enc.features().contexts();
        return contexts == null ? () -> fixed : () -> fixed + contexts.bytes();
    }

    /** {@code POST .../encode}: starts the view's encoding if needed and says how far it is. */
    private Map<String, Object> encodeState(ImageSession s, ImageSession.View v) {
        // a viewer asks for the slice it shows now: views of this image still waiting for their turn are not needed
        cache.dropWaiting(s.id + "/", s.id + "/" + v.key());
        EmbeddingCache.Entry e = encoding(s, v);
        try {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("state", e.state());
            m.put("done", e.done.get());
            m.put("total", e.total);
            m.put("width", e.image.width());
            m.put("height", e.image.height());
            if (e.encoded.isCompletedExceptionally()) m.put("error", oneLine(cause(e)));
            return m;
        } finally {
            cache.release(e);
        }
    }

    private static Throwable cause(EmbeddingCache.Entry e) {
        try {
            e.encoded.join();
            return null;
        } catch (java.util.concurrent.CompletionException x) {
            return x.getCause() == null ? x : x.getCause();
        }
    }

    private Predictor.Encoded await(EmbeddingCache.Entry e) {
        try {
            return e.encoded.get(10, TimeUnit.MINUTES);
        } catch (ExecutionException x) {
            throw new ApiException(500, "encoding failed: " + oneLine(x.getCause()));
        } catch (TimeoutException x) {
            throw new ApiException(503, "encoding is taking longer than 10 minutes");
        } catch (InterruptedException x) {
            Thread.currentThread().interrupt();
            throw new ApiException(503, "server is stopping");
        }
    }

    /** Runs {@code work} on the compute pool (503 when its queue is full) and waits for it. */
    private <T> T onCompute(Callable<T> work) {
        Future<T> f = compute.submit(work);
        try {
            return f.get();
        } catch (ExecutionException x) {
            Throwable c = x.getCause();
            if (c instanceof ApiException a) throw a;
            if (c instanceof IllegalArgumentException i) throw new ApiException(400, oneLine(i));
            if (c instanceof IOException io) throw new UncheckedIOException(io);
            if (c instanceof RuntimeException r) throw r;
            throw new RuntimeException(c);
        } catch (InterruptedException x) {
            f.cancel(true);
            Thread.currentThread().interrupt();
            throw new ApiException(503, "server is stopping");
        }
    }

    // ------------------------------------------------------------------ prompts

    /** {@code POST .../predict}: the body is a prompts array as {@code segsam predict --prompts} reads it. */
    private Map<String, Object> predict(HttpExchange ex, ImageSession s, ImageSession.View v) throws IOException {
        long start = System.nanoTime();
        List<Prompt> prompts = prompts(ex);
        EmbeddingCache.Entry e = encoding(s, v);
        try {
            Predictor.Encoded enc = await(e);
            int w = e.image.width(), h = e.image.height();
            for (int i = 0; i < prompts.size(); i++) PromptParser.requireInside(prompts.get(i), w, h, "prompt " + i);
            long[] decode = new long[1];
            List<Predictor.Result> rs = onCompute(() -> {
                long t0 = System.nanoTime();
                List<Predictor.Result> out = prompts.size() == 1 ? List.of(predictor.predict(enc, prompts.get(0))) : predictor.predict(enc, prompts);
                decode[0] = System.nanoTime() - t0;
                return out;
            });
            double decodeMs = decode[0] / 1e6;
            String rid = "r" + Long.toString(ids.incrementAndGet(), 36);
            synchronized (results) {
                results.put(rid, new ResultRecord(s.id, v, prompts));
                var it = results.values().iterator();
                while (results.size() > MAX_RESULTS && it.hasNext()) {
                    it.next();
                    it.remove();
                }
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("result_id", rid);
            m.put("width", w);
            m.put("height", h);
            m.put("decode_ms", Math.round(decodeMs * 10) / 10.0);
            List<Map<String, Object>> out = new ArrayList<>();
            float[] presence = null;
            for (int i = 0; i < rs.size(); i++) {
                Predictor.Result r = rs.get(i);
                Map<String, Object> p = new LinkedHashMap<>();
                p.put("index", i);
                p.put("iou_predictions", r.iou());
                p.put("chosen_mask", r.best());
                p.put("area", Masks.area(r.mask()));
                p.put("bbox", Masks.bbox(r.mask(), w, h));
                p.put("mask_png", base64(maskPng(r.mask(), w, h)));
                if (r.semantic() != null) {
                    Predictor.Semantic sem = r.semantic();
                    Map<String, Object> sm = new LinkedHashMap<>();
                    sm.put("predicted_class", sem.predictedClass() > 0 ? classNames.get(sem.predictedClass() - 1) : null);
                    sm.put("predicted_class_id", sem.predictedClass());
                    sm.put("probability", sem.classProbability());
                    Map<String, Object> probs = new LinkedHashMap<>();
                    for (int k = 0; k < classNames.size(); k++) probs.put(classNames.get(k), sem.classProbabilities()[k]);
                    sm.put("class_probabilities", probs);
                    if (sem.classPresence() != null) {
                        Map<String, Object> pres = new LinkedHashMap<>();
                        for (int k = 0; k < classNames.size(); k++) pres.put(classNames.get(k), sem.classPresence()[k]);
                        sm.put("class_presence", pres);
                    }
                    sm.put("label_map_png", base64(labelPng(sem.labelMap(), w, h)));
                    p.put("semantic", sm);
                }
                out.add(p);
            }
            m.put("prompts", out);
            m.put("server_ms", Math.round((System.nanoTime() - start) / 1e5) / 10.0); // body read to answer ready (not sent)
            return m;
        } finally {
            cache.trim(e); // the first decode made the image's decoder contexts: count them
            cache.release(e);
        }
    }

    private List<Prompt> prompts(HttpExchange ex) throws IOException {
        byte[] body = ex.getRequestBody().readNBytes(MAX_PROMPT_BYTES + 1);
        if (body.length > MAX_PROMPT_BYTES) {
            Uploads.drain(ex.getRequestBody());
            throw new ApiException(413, "prompts body is larger than " + MAX_PROMPT_BYTES + " bytes");
        }
        List<Prompt> prompts = PromptParser.readJson(new String(body, StandardCharsets.UTF_8), "prompts");
        if (prompts.size() > MAX_PROMPTS) throw new ApiException(400, prompts.size() + " prompts in one request; at most " + MAX_PROMPTS);
        return prompts;
    }

    private static byte[] maskPng(boolean[] mask, int w, int h) throws IOException {
        byte[] g = new byte[mask.length];
        for (int i = 0; i < g.length; i++) g[i] = mask[i] ? (byte) 255 : 0;
        return ImageFiles.greyPng(g, w, h);
    }

    /** The class-ID label map as an 8-bit grey PNG (0 background, k = class k; up to 255 classes). */
    private static byte[] labelPng(int[] labels, int w, int h) throws IOException {
        byte[] g = new byte[labels.length];
        for (int i = 0; i < g.length; i++) g[i] = (byte) Math.min(255, Math.max(0, labels[i]));
        return ImageFiles.greyPng(g, w, h);
    }

    private static String base64(byte[] b) {
        return Base64.getEncoder().encodeToString(b);
    }

    // ------------------------------------------------------------------ downloads

    /**
     * {@code GET /api/results/{rid}/{file}}: one of the files {@code segsam predict} writes for the result's prompts
     * (result.json, mask_i.png, labels.png, labels_i.png, semantic_i.png, overlay.png; for volume slices mask_i.nii.gz,
     * labels.nii.gz; for DICOM slices segmentation.dcm), made again from the prompts (the embedding is cached, so this is one decoder pass per prompt).
     */
    private void download(HttpExchange ex, String rid, String file) throws IOException {
        ResultRecord rec;
        synchronized (results) {
            rec = results.get(rid);
        }
        if (rec == null) throw new ApiException(404, "no result " + rid + " (the server keeps the last " + MAX_RESULTS + ")");
        ImageSession s = session(rec.image());
        EmbeddingCache.Entry e = encoding(s, rec.view());
        byte[] body;
        try {
            Predictor.Encoded enc = await(e);
            body = onCompute(() -> {
                List<Predictor.Result> rs = new ArrayList<>();
                for (Prompt p : rec.prompts()) rs.add(predictor.predict(enc, p));
                Path dir = Files.createTempDirectory(s.folder, "result");
                try {
                    PredictionOutput out = new PredictionOutput(Path.of(config.modelName()), Path.of(s.name), model, convention, e.image, enc,
                            rec.prompts(), rs).names(config.modelName(), s.name);
                    dev.segsam.cli.predict.InputImage input = s.input(rec.view(), e.image);
                    if (input != null) out.input(input);
                    if (!file.equals(dev.segsam.cli.predict.DicomSegOutput.FILE)) out.withoutDicomSeg(); // only its own download reads the series again
                    out.write(dir);
                    Path f = dir.resolve(file);
                    if (!Files.isRegularFile(f)) throw new ApiException(404, "result " + rid + " has no file " + file);
                    return Files.readAllBytes(f);
                } finally {
                    Uploads.deleteTree(dir);
                }
            });
        } finally {
            cache.trim(e);
            cache.release(e);
        }
        ex.getResponseHeaders().set("Content-Disposition", "attachment; filename=\"" + file + "\"");
        send(ex, 200, file.endsWith(".json") ? "application/json" : file.endsWith(".gz") ? "application/gzip"
                : file.endsWith(".dcm") ? "application/dicom" : "image/png", body);
    }

    // ------------------------------------------------------------------ HTTP plumbing

    private static Map<String, String> query(HttpExchange ex) {
        Map<String, String> m = new HashMap<>();
        String q = ex.getRequestURI().getRawQuery();
        if (q == null) return m;
        for (String kv : q.split("&")) {
            if (kv.isEmpty()) continue;
            int eq = kv.indexOf('=');
            try {
                String k = URLDecoder.decode(eq < 0 ? kv : kv.substring(0, eq), StandardCharsets.UTF_8);
                String v = eq < 0 ? "" : URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8);
                m.put(k, v);
            } catch (IllegalArgumentException e) {
                throw new ApiException(400, "bad query string: " + oneLine(e));
            }
        }
        return m;
    }

    private static void json(HttpExchange ex, int status, Object body) throws IOException {
        send(ex, status, "application/json", JSON.writeValueAsBytes(body));
    }

    private static void error(HttpExchange ex, int status, String message) {
        try {
            send(ex, status, "application/json", JSON.writeValueAsBytes(Map.of("error", message.replace('\n', ' '))));
        } catch (IOException | RuntimeException ignored) {
            // headers already sent or the client is gone: nothing more to say
        }
    }

    private static void send(HttpExchange ex, int status, String type, byte[] body) throws IOException {
        var h = ex.getResponseHeaders();
        h.set("Content-Type", type);
        h.set("X-Content-Type-Options", "nosniff");
        h.set("Cache-Control", "no-store");
        h.set("Referrer-Policy", "no-referrer");
        ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
    }

    static String oneLine(Throwable e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) m = e.getClass().getSimpleName();
        if (e instanceof java.nio.file.NoSuchFileException) m = "no such file: " + m;
        return m.replace('\n', ' ');
    }
}
