package dev.segsam.cli;

import dev.segsam.cli.serve.SegServer;
import dev.segsam.io.IoLimits;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code segsam serve}: interactive segmentation in the browser ({@link SegServer}): upload an image or a medical file,
 * draw boxes and click points, see the mask and the semantic label map at once. Serves until stopped (Ctrl-C).
 */
@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Interactive segmentation in the browser: serves a page and a JSON API on this machine.",
            "Default model: the embedded SEG-SAM demo model. Stop with Ctrl-C."})
final class ServeCommand implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "FILE", description = "weights: .safetensors or .pth (default: the embedded demo model)")
    Path model;

    @Option(names = "--port", paramLabel = "N", defaultValue = "8080", description = "port (default 8080; 0: any free port)")
    int port;

    @Option(names = "--host", paramLabel = "ADDR", defaultValue = "127.0.0.1",
            description = "address to listen on (default 127.0.0.1, this machine only; others need --allow-remote)")
    String host;

    @Option(names = "--allow-remote", description = "allow --host to be a non-loopback address (anyone who can reach it can use the server)")
    boolean allowRemote;

    @Option(names = "--convention", paramLabel = "sam|medsam", description = "preprocessing (default: the model's, else sam)")
    String convention;

    @Option(names = "--max-upload-mb", paramLabel = "MB", defaultValue = "256", description = "largest upload (default 256 MiB)")
    long maxUploadMb;

    @Option(names = "--cache-mb", paramLabel = "MB", defaultValue = "512", description = "memory for cached image encodings: embeddings, model inputs and the decoders' per-image contexts (default 512 MiB)")
    long cacheMb;

    @Option(names = "--queue", paramLabel = "N", defaultValue = "16", description = "model requests that may wait; more are refused with 503 (default 16)")
    int queue;

    @Option(names = "--workers", paramLabel = "N", defaultValue = "2", description = "model requests run at once on the CPU (default 2; on a GPU always 1)")
    int workers;

    @Option(names = "--max-images", paramLabel = "N", defaultValue = "16", description = "uploaded images kept, least recently used dropped (default 16)")
    int maxImages;

    @Option(names = "--images-mb", paramLabel = "MB", defaultValue = "2048", description = "memory for uploaded images, least recently used dropped (default 2048 MiB)")
    long imagesMb;

    @Mixin
    ComputeOptions compute;

    @Spec
    CommandSpec spec;

    @Override
    @SuppressWarnings("try") // the shutdown hook closes the server early, on Ctrl-C; close() is idempotent
    public Integer call() throws Exception {
        PrintWriter o = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        if (maxUploadMb < 1 || cacheMb < 1 || imagesMb < 1 || queue < 1 || workers < 1 || maxImages < 1 || port < 0 || port > 65535) {
            throw new ParameterException(spec.commandLine(), "--max-upload-mb, --cache-mb, --images-mb, --queue, --workers and --max-images must be at least 1, --port 0..65535");
        }
        InetAddress addr = InetAddress.getByName(host);
        if (!addr.isLoopbackAddress()) {
            if (!allowRemote) {
                throw new ParameterException(spec.commandLine(), "--host " + host + " is not a loopback address: the server would be reachable from other "
                        + "machines, without authentication; add --allow-remote if that is what you want");
            }
            err.println("segsam: WARNING: listening on " + host + ": anyone who can reach this address can upload images and run the model (no authentication, no TLS)");
        }
        Path tmp = null, weights = model;
        String name;
        if (weights == null) {
            tmp = Files.createTempDirectory("segsam-serve-model");
            weights = DemoCommand.extract("segsam-demo.safetensors", tmp);
        }
        name = weights.getFileName().toString();
        try (SegServer server = SegServer.start(new SegServer.Config(weights, name, host, port, maxUploadMb << 20, cacheMb << 20, workers, queue,
                maxImages, imagesMb << 20, convention, compute.options(), IoLimits.fromSystemProperties()))) {
            var m = server.model();
            o.println("segsam serve: " + name + " (" + m.sam().config().name() + (m.hasSemantics() ? " + SEG-SAM, " + m.config().numClasses() + " classes" : "")
                    + ") on " + server.backendName());
            o.println("segsam serve: open " + server.url() + "   (Ctrl-C to stop)");
            o.flush();
            CountDownLatch stop = new CountDownLatch(1);
            Path extracted = tmp;
            Thread hook = new Thread(() -> { // Ctrl-C / SIGTERM: the finally below never runs then
                server.close();
                deleteModelCopy(extracted);
                stop.countDown();
            }, "segsam-serve-stop");
            Runtime.getRuntime().addShutdownHook(hook);
            stop.await();
            return 0;
        } finally {
            deleteModelCopy(tmp);
        }
    }

    /** Deletes the folder the embedded model was copied into (null: none), quietly. */
    private static void deleteModelCopy(Path dir) {
        if (dir == null) return;
        try {
            Files.deleteIfExists(dir.resolve("segsam-demo.safetensors"));
            Files.deleteIfExists(dir);
        } catch (java.io.IOException ignored) {
            // a temporary folder: the system cleans it up eventually
        }
    }
}
