package dev.segsam.io.pth;

import dev.segsam.io.pth.RestrictedUnpickler.Opaque;
import dev.segsam.io.pth.RestrictedUnpickler.PySet;
import dev.segsam.io.pth.RestrictedUnpickler.TensorRef;
import dev.segsam.io.pth.RestrictedUnpickler.Tuple;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Finds the state dict in an unpickled checkpoint. The rule:
 * <ol>
 *   <li>If a key was given, the top-level dict's entry of that name is the state dict.</li>
 *   <li>Else, if the top-level object is a dict with at least one tensor value, it is the state dict (a plain
 *       {@code torch.save(model.state_dict())}, like {@code sam_vit_b_01ec64.pth}).</li>
 *   <li>Else the state dict is the top-level entry whose value is a dict with at least one tensor value
 *       ({@code {"model": ..., "optimizer": ..., "epoch": ...}}: an optimizer's own state dict holds its tensors one
 *       level deeper, so it does not compete). If several entries qualify, the first of {@link #PREFERRED} wins;
 *       if none of those is among them, the file is refused as ambiguous and the key must be given.</li>
 * </ol>
 * The other top-level entries are skipped with a warning, whatever they hold: opaque objects (an optimizer object)
 * included, since nothing was built for them. Inside the state dict, values that are not tensors (numbers, strings,
 * nested dicts) and tensors segsam does not read (complex, quantized or sparse tensors; views with PyTorch's neg/conj
 * bits) are skipped with a warning. An opaque object in the state dict itself, or anywhere inside one of its
 * skipped values, makes the file refused: that is code {@code torch.load} would run to build the weights. Names
 * are kept exactly as stored (a {@code module.} prefix from DistributedDataParallel is not stripped).
 */
final class StateDicts {
    /** Entry names tried, in order, when several top-level entries hold tensors. */
    static final List<String> PREFERRED = List.of("state_dict", "model", "model_state_dict", "module", "net", "network");

    /** The chosen state dict: entry name (null for the top level), its tensors in file order, warnings. */
    record Selection(String key, Map<String, TensorRef> tensors, List<String> warnings) {}

    private StateDicts() {}

    static Selection select(Path file, Object root, String key) throws PthFormatException {
        if (root instanceof Opaque o) {
            throw new UnsafePickleException(file, null, o.global, "its top-level object is " + o
                    + (o.instance ? " (a whole pickled model or object; save model.state_dict() instead)" : ""));
        }
        if (!(root instanceof LinkedHashMap<?, ?> top)) {
            throw new PthFormatException(file, null, "state dict", "the top-level object is "
                    + RestrictedUnpickler.describe(root) + ", not a dict of tensors");
        }
        String chosen = key;
        if (chosen != null) {
            if (!(top.get(chosen) instanceof Map<?, ?>)) {
                throw new PthFormatException(file, null, "state dict", "no top-level entry \"" + chosen
                        + "\" holding a dict (top-level keys: " + keys(top) + ")");
            }
        } else if (!holdsTensors(top)) {
            List<String> candidates = new ArrayList<>();
            for (Map.Entry<?, ?> e : top.entrySet()) {
                if (e.getKey() instanceof String k && e.getValue() instanceof Map<?, ?> m && holdsTensors(m)) candidates.add(k);
            }
            if (candidates.isEmpty()) {
                throw new PthFormatException(file, null, "state dict", top.isEmpty() ? "the top-level dict is empty"
                        : "no tensors: neither the top-level dict nor a dict in it holds any (top-level keys: " + keys(top) + ")");
            }
            chosen = candidates.size() == 1 ? candidates.getFirst()
                    : PREFERRED.stream().filter(candidates::contains).findFirst().orElse(null);
            if (chosen == null) {
                throw new PthFormatException(file, null, "state dict", "entries " + quoted(candidates)
                        + " all hold tensors; open the file with PthFile.open(path, key) to choose one");
            }
        }

        List<String> warnings = new ArrayList<>();
        Map<?, ?> sd = chosen == null ? top : (Map<?, ?>) top.get(chosen);
        if (chosen != null) {
            for (Map.Entry<?, ?> e : top.entrySet()) {
                if (chosen.equals(e.getKey())) continue;
                warnings.add("skipped top-level entry " + name(e.getKey()) + ": " + summary(e.getValue())
                        + (e.getValue() instanceof Opaque ? ", left unbuilt (nothing was executed)" : "")
                        + "; the state dict is entry \"" + chosen + "\"");
            }
        }
        Map<String, TensorRef> tensors = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : sd.entrySet()) {
            Object v = e.getValue();
            String where = "state dict entry " + name(e.getKey());
            refuseOpaque(file, e.getKey() instanceof String s ? s : null, where, v);
            if (!(e.getKey() instanceof String k)) {
                warnings.add("skipped " + where + ": its key is " + RestrictedUnpickler.describe(e.getKey()) + ", not a string");
            } else if (v instanceof TensorRef t) {
                if (t.storage().type().dtype() == null) {
                    warnings.add("skipped " + where + ": a tensor on a torch." + t.storage().type().className()
                            + ", which segsam does not read");
                } else if (t.metadataFlags()) {
                    warnings.add("skipped " + where + ": a tensor with PyTorch's neg or conj bit set, which segsam does not read");
                } else {
                    tensors.put(k, t);
                }
            } else {
                warnings.add("skipped " + where + ": " + summary(v) + ", not a tensor");
            }
        }
        return new Selection(chosen, Collections.unmodifiableMap(tensors), List.copyOf(warnings));
    }

    private static boolean holdsTensors(Map<?, ?> m) {
        for (Object v : m.values()) {
            if (v instanceof TensorRef) return true;
        }
        return false;
    }

    /** PyTorch's own rebuild functions for tensor kinds segsam does not read: safe to skip, not to refuse. */
    private static boolean unreadTensorKind(Opaque o) {
        return o.instance && o.global.startsWith("torch._utils._rebuild_");
    }

    /** Walks {@code v} (iteratively, cycles allowed) and refuses the file if it holds an opaque object. */
    private static void refuseOpaque(Path file, String entry, String where, Object v) throws UnsafePickleException {
        Set<Object> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        ArrayDeque<Object> todo = new ArrayDeque<>();
        todo.push(v == null ? Boolean.FALSE : v);
        while (!todo.isEmpty()) {
            Object o = todo.pop();
            if (!seen.add(o)) continue;
            switch (o) {
                case Opaque op when unreadTensorKind(op) -> {}
                case Opaque op -> throw new UnsafePickleException(file, entry, op.global, where
                        + (o == v ? " is " : " contains ") + op);
                case Map<?, ?> m -> m.forEach((k, x) -> {
                    if (k != null) todo.push(k);
                    if (x != null) todo.push(x);
                });
                case List<?> l -> l.forEach(x -> {
                    if (x != null) todo.push(x);
                });
                case PySet s -> s.items.forEach(x -> {
                    if (x != null) todo.push(x);
                });
                case Tuple t -> {
                    for (int i = 0; i < t.size(); i++) if (t.get(i) != null) todo.push(t.get(i));
                }
                default -> {}
            }
        }
    }

    /** A one-line summary of a skipped value: its kind, and the value itself for short scalars. */
    static String summary(Object v) {
        String kind = RestrictedUnpickler.describe(v);
        return switch (v) {
            case Long l -> kind + " (" + l + ")";
            case Double d -> kind + " (" + d + ")";
            case Boolean b -> kind + " (" + (b ? "True" : "False") + ")";
            case String s -> kind + " (\"" + (s.length() > 40 ? s.substring(0, 37) + "..." : s) + "\")";
            case Map<?, ?> m -> kind + " of " + m.size() + " entries";
            case List<?> l -> kind + " of " + l.size() + " items";
            case null, default -> kind;
        };
    }

    private static String name(Object key) {
        return key instanceof String s ? "\"" + s + "\"" : RestrictedUnpickler.describe(key) + " key";
    }

    private static String keys(Map<?, ?> m) {
        List<String> names = new ArrayList<>();
        for (Object k : m.keySet()) {
            if (names.size() == 10) {
                names.add("...");
                break;
            }
            names.add(k instanceof String s ? "\"" + s + "\"" : RestrictedUnpickler.describe(k));
        }
        return String.join(", ", names);
    }

    private static String quoted(List<String> names) {
        return String.join(", ", names.stream().map(n -> "\"" + n + "\"").toList());
    }
}
