import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Runs real Helm (helm-java: Helm's own Go code, loaded through JNA) on one chart: `helm lint --strict` and
 * `helm template` for each case of a job file, then reads every rendered document into the fabric8 Kubernetes
 * model and reports the fields the Kubernetes API does not know (fabric8 keeps them in `additionalProperties`),
 * which is what `kubectl apply --validate=strict` would refuse.
 *
 * <p>Usage: {@code java -cp <classpath> HelmRunner.java <job.json>}; prints a JSON report on stdout.
 * Job: {@code {"chart": dir, "outDir": dir, "lint": true, "kubeVersion": "v1.33.0", "cases": [{"name", "release", "namespace",
 * "valuesFiles": [..], "set": [[key, value], ..]}]}}. A case whose rendering fails is reported with Helm's
 * message (a values.schema.json violation, a `fail` in a template), not thrown.
 */
public class HelmRunner {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final String HOOK = "helm.sh/hook:";
  private static final String HOOK_STANDIN = "delivery.warm-house/helm-hook:";

  /**
   * helm-java's template prints the release manifest only, without hook resources (migration Jobs, the Secrets
   * they read), which `helm template` would print. So the cases render a copy of the chart in which the
   * `helm.sh/hook` annotation is renamed: Helm then keeps those resources in the manifest, and the rendered
   * text gets the annotation's real name back. Lint runs on the chart itself.
   */
  private static Path withHooksInManifest(Path chart) throws Exception {
    Path copy = Files.createTempDirectory("chart-");
    Path target = copy.resolve(chart.getFileName());
    try (var files = Files.walk(chart, java.nio.file.FileVisitOption.FOLLOW_LINKS)) {
      for (Path source : (Iterable<Path>) files::iterator) {
        Path dest = target.resolve(chart.relativize(source).toString());
        if (Files.isDirectory(source)) {
          Files.createDirectories(dest);
        } else if (source.toString().endsWith(".yaml") || source.toString().endsWith(".tpl")) {
          Files.writeString(dest, Files.readString(source).replace(HOOK, HOOK_STANDIN));
        } else {
          Files.copy(source, dest);
        }
      }
    }
    return target;
  }

  public static void main(String[] args) throws Exception {
    JsonNode job = JSON.readTree(Path.of(args[0]).toFile());
    Path chart = Path.of(job.get("chart").asText());
    Path outDir = Path.of(job.get("outDir").asText());
    Files.createDirectories(outDir);
    ObjectNode report = JSON.createObjectNode();
    report.put("helmVersion", Helm.version().call());

    if (job.path("lint").asBoolean(false)) {
      LintResult lint = new Helm(chart).lint().strict().call();
      ObjectNode l = report.putObject("lint");
      l.put("failed", lint.isFailed());
      ArrayNode messages = l.putArray("messages");
      lint.getMessages().forEach(messages::add);
    }

    Path renderable = withHooksInManifest(chart);
    try {
      renderCases(job, renderable, outDir, report.putArray("cases"));
    } finally {
      try (var paths = Files.walk(renderable.getParent())) {
        paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
    System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(report));
  }

  private static void renderCases(JsonNode job, Path renderable, Path outDir, ArrayNode cases) {
    for (JsonNode c : job.withArray("cases")) {
      ObjectNode r = cases.addObject();
      String name = c.get("name").asText();
      r.put("name", name);
      long started = System.nanoTime();
      try {
        TemplateCommand t = new Helm(renderable).template()
            .withName(c.path("release").asText("warm-house"))
            .withNamespace(c.path("namespace").asText("warm-house"))
            .withKubeVersion(job.path("kubeVersion").asText("v1.33.0"));
        for (JsonNode f : c.withArray("valuesFiles")) t = t.withValuesFile(Path.of(f.asText()));
        for (JsonNode kv : c.withArray("set")) t = t.set(kv.get(0).asText(), kv.get(1).asText());
        String rendered = t.call().replace(HOOK_STANDIN, HOOK);
        Path file = outDir.resolve(name + ".yaml");
        Files.writeString(file, rendered);
        r.put("ok", true);
        r.put("file", file.toString());
        ArrayNode unknown = r.putArray("unknownFields");
        int documents = 0;
        for (String doc : rendered.split("(?m)^---\\s*$")) {
          JsonNode tree = YAML.readTree(doc);
          if (tree == null || tree.isNull() || tree.isMissingNode() || tree.isEmpty()) continue;
          documents++;
          strictCheck(tree, unknown);
        }
        r.put("documents", documents);
      } catch (Exception e) {
        r.put("ok", false);
        r.put("error", String.valueOf(e.getMessage()));
      }
      r.put("ms", (System.nanoTime() - started) / 1_000_000);
    }
  }

  /** Reads one manifest into the fabric8 model; unknown fields and unreadable values become findings. */
  private static void strictCheck(JsonNode tree, ArrayNode out) {
    String id = tree.path("kind").asText("?") + "/" + tree.path("metadata").path("name").asText("?");
    Object model;
    try {
      model = JSON.treeToValue(tree, KubernetesResource.class);
    } catch (Exception e) {
      finding(out, id, "(document)", "cannot be read as a Kubernetes object: " + e.getMessage());
      return;
    }
    if (model instanceof GenericKubernetesResource) return; // a custom resource: checked against its CRD schema
    List<String[]> found = new ArrayList<>();
    walk(model, "", found);
    for (String[] f : found) finding(out, id, f[0], f[1]);
  }

  private static void finding(ArrayNode out, String id, String path, String message) {
    ObjectNode f = out.addObject();
    f.put("resource", id);
    f.put("path", path);
    f.put("message", message);
  }

  private static void walk(Object o, String path, List<String[]> out) {
    if (o == null) return;
    if (o instanceof List<?> list) {
      for (int i = 0; i < list.size(); i++) walk(list.get(i), path + "[" + i + "]", out);
      return;
    }
    if (o instanceof Map<?, ?> map) {
      for (Map.Entry<?, ?> e : map.entrySet()) walk(e.getValue(), path + "." + e.getKey(), out);
      return;
    }
    Class<?> type = o.getClass();
    if (!type.getName().startsWith("io.fabric8.kubernetes.api.model")) return;
    for (Method m : type.getMethods()) {
      if (m.getParameterCount() != 0 || Modifier.isStatic(m.getModifiers()) || !m.getName().startsWith("get")) continue;
      if (m.getDeclaringClass() == Object.class || m.getName().equals("getClass")) continue;
      Object value;
      try {
        value = m.invoke(o);
      } catch (InvocationTargetException e) {
        out.add(new String[] {path, "invalid value: " + e.getCause().getMessage()});
        continue;
      } catch (IllegalAccessException e) {
        continue;
      }
      if (m.getName().equals("getAdditionalProperties")) {
        if (value instanceof Map<?, ?> extra)
          for (Object key : extra.keySet()) out.add(new String[] {path + "." + key, "unknown field"});
        continue;
      }
      String property = Character.toLowerCase(m.getName().charAt(3)) + m.getName().substring(4);
      walk(value, path + "." + property, out);
    }
  }
}
