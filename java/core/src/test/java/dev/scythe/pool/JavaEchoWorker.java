package dev.scythe.pool;

import java.util.Map;

/** A worker written in Java with {@link JsonRpcWorker}, run as its own JVM by the pool tests. */
public final class JavaEchoWorker {
    private JavaEchoWorker() {}

    public static void main(String[] args) throws Exception {
        JsonRpcWorker.serve(System.in, System.out, request -> switch (request.method()) {
            case "task" -> Map.of("echo", ((Map<?, ?>) request.params()).get("task"), "by", "java",
                    "pid", ProcessHandle.current().pid());
            case "fail" -> throw new JsonRpcWorker.Failure(-32001, "failed on purpose");
            default -> throw new JsonRpcWorker.Failure(JsonRpcWorker.METHOD_NOT_FOUND, "no method " + request.method());
        });
    }
}
