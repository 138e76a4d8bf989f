package dev.segsam.cli;

import dev.segsam.cli.medical.DatasetCommand;
import dev.segsam.cli.medical.ExportSliceCommand;
import dev.segsam.cli.medical.InspectCommand;
import dev.segsam.tensor.Device;
import dev.segsam.tensor.Options;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code segsam} command line. Run it through the repository's {@code ./segsam} launcher, which picks a JDK 25
 * and builds this jar on first use.
 */
@Command(name = "segsam", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "SEG-SAM (semantic-guided SAM for medical image segmentation) in Java.",
        subcommands = {DemoCommand.class, ServeCommand.class, MakeDemoCommand.class, AblationReportCommand.class, PredictCommand.class, PredictVolumeCommand.class, TrainCommand.class, EvalCommand.class, InitSegSamCommand.class, ConvertCommand.class, TensorsCommand.class, SelfTestCommand.class,
                // medical images and data sets (dev.segsam.cli.medical)
                InspectCommand.class, ExportSliceCommand.class, DatasetCommand.class,
                CommandLine.HelpCommand.class})
public final class Main {
    static {
        // log records (System.Logger → java.util.logging) as one line each: "segsam: <message>"
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format", "segsam: %5$s%6$s%n");
        }
    }

    /**
     * {@code --verbose} (any command): the library's DEBUG log lines too (which device and CPU path {@code auto} chose
     * and why, the kind of checkpoint); without it only its warnings are printed.
     */
    @CommandLine.Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
            description = "also print the library's informational log lines (device chosen and why, checkpoint kind)")
    void verbose(boolean on) {
        verboseLogging(on);
    }

    /** Shows (or hides again) the {@code segsam} logger's DEBUG/INFO records on the error stream. */
    static synchronized void verboseLogging(boolean on) {
        java.util.logging.Logger log = LOGGER;
        if (verboseHandler != null) log.removeHandler(verboseHandler);
        verboseHandler = null;
        if (on) {
            verboseHandler = new java.util.logging.ConsoleHandler();
            verboseHandler.setLevel(java.util.logging.Level.ALL);
            log.addHandler(verboseHandler);
            log.setLevel(java.util.logging.Level.FINE);
            log.setUseParentHandlers(false);
        } else {
            log.setLevel(null);
            log.setUseParentHandlers(true);
        }
    }

    private static final java.util.logging.Logger LOGGER = java.util.logging.Logger.getLogger("segsam"); // held: JUL keeps loggers weakly
    private static java.util.logging.Handler verboseHandler;

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /**
     * Exit codes: success; a failure (one line on stderr); a usage error; some items of a {@code predict --batch}
     * failed ({@code BatchPredict.SOME_FAILED}); out of memory (README "Limits", docs/LIMITS.md).
     */
    public static final int EXIT_OK = 0, EXIT_FAILURE = 1, EXIT_USAGE = 2, EXIT_SOME_FAILED = 3, EXIT_OUT_OF_MEMORY = 4;

    /**
     * Runs the CLI with the given streams and returns the exit code ({@link #EXIT_OK}, {@link #EXIT_FAILURE},
     * {@link #EXIT_USAGE}, {@link #EXIT_SOME_FAILED}, {@link #EXIT_OUT_OF_MEMORY}).
     */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        try {
            return execute(args, out, err);
        } catch (OutOfMemoryError e) { // picocli passes Errors through
            err.println("segsam: " + outOfMemory(e));
            if (Boolean.getBoolean("segsam.debug")) e.printStackTrace(err);
            return EXIT_OUT_OF_MEMORY;
        } catch (StackOverflowError e) {
            err.println("segsam: the input is nested too deeply to process (stack overflow); -Xss raises the thread stack size");
            return EXIT_FAILURE;
        }
    }

    private static int execute(String[] args, PrintWriter out, PrintWriter err) {
        verboseLogging(false); // each run starts quiet; --verbose turns the library's log lines on
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        // Errors are one line ("segsam: ...") and a non-zero exit; -Dsegsam.debug=true adds the stack trace.
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            OutOfMemoryError oom = causeOfType(ex, OutOfMemoryError.class); // e.g. from a worker thread, wrapped
            commandLine.getErr().println("segsam: " + (oom != null ? outOfMemory(oom) : oneLine(ex)));
            if (Boolean.getBoolean("segsam.debug")) ex.printStackTrace(commandLine.getErr());
            return oom != null ? EXIT_OUT_OF_MEMORY : EXIT_FAILURE;
        });
        cl.setParameterExceptionHandler((ex, a) -> {
            CommandLine c = ex.getCommandLine();
            c.getErr().println("segsam: " + ex.getMessage());
            c.getErr().println("Try 'segsam " + (c.getCommandName().equals("segsam") ? "" : c.getCommandName() + " ") + "--help'.");
            return EXIT_USAGE;
        });
        return cl.execute(args);
    }

    /**
     * The compute options of one run, mapped at the edge: the documented {@code -Dsegsam.*} system properties
     * ({@link Options#fromSystemProperties()}, a bad value failing in one line that names the property), then
     * {@code device} ({@code --device}) and {@code threads} ({@code --threads}) when given (null: not given).
     */
    static Options options(String device, Integer threads) {
        Options o = Options.fromSystemProperties();
        if (device != null) o = o.withDevice(Device.parse(device));
        if (threads != null) {
            if (threads < 1) throw new IllegalArgumentException("--threads must be at least 1, got " + threads);
            o = o.withThreads(threads);
        }
        return o;
    }

    /**
     * One line for an {@link OutOfMemoryError}: what ran out (the error's own words, which name the size of a failed
     * native allocation), the heap limit, and how to raise it.
     */
    static String outOfMemory(OutOfMemoryError e) {
        long max = Runtime.getRuntime().maxMemory();
        long suggestGiB = Math.max(2, (max >> 30) * 2 + 1);
        String what = e.getMessage() == null || e.getMessage().isBlank() ? "memory" : e.getMessage();
        return "out of memory (" + what.replace('\n', ' ') + "; the Java heap limit is " + (max == Long.MAX_VALUE ? "unlimited" : (max >> 20) + " MiB")
                + "): raise it with SEGSAM_HEAP=" + suggestGiB + "g (./segsam) or java -Xmx" + suggestGiB + "g, or give a smaller input (docs/LIMITS.md)";
    }

    static <T extends Throwable> T causeOfType(Throwable e, Class<T> type) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) if (type.isInstance(t)) return type.cast(t);
        return null;
    }

    static String oneLine(Throwable e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) m = e.getClass().getSimpleName();
        if (e instanceof java.nio.file.NoSuchFileException) m = "no such file: " + m;
        if (e instanceof java.nio.file.AccessDeniedException) m = "permission denied: " + m;
        return m.replace('\n', ' ');
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"segsam " + (v == null ? "0.1.0-SNAPSHOT" : v) + " (Java " + Runtime.version() + ")"};
        }
    }
}
