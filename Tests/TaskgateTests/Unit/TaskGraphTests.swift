import Testing

@testable import TaskgateCore

/// The dependencies of a batch: refs, parents resolved, an order parents-first, and the refusals (a cycle, a
/// missing parent, a task waiting for itself) that name their place.
@Suite struct TaskGraphTests {
    private typealias Entry = TaskGraph.Entry
    private static let stored = "mail.0123456789abcdef0123456789abcdef"

    private static func refusal(_ entries: [Entry]) -> TaskValidationError? {
        do {
            _ = try TaskGraph(entries)
            return nil
        } catch {
            return error
        }
    }

    @Test func aDiamondRunsItsRootFirstAndItsJoinLast() throws {
        // Given out of order: D first, then B, C, A.
        let graph = try TaskGraph([
            Entry(ref: "d", after: ["b", "c"]), Entry(ref: "b", after: ["a"]), Entry(ref: "c", after: ["a"]),
            Entry(ref: "a"),
        ])
        #expect(graph.order == [3, 1, 2, 0])
        #expect(graph.parents[0] == [.sibling(1), .sibling(2)])
        #expect(graph.children[3] == [1, 2])
        #expect(graph.children[1] == [0] && graph.children[2] == [0])
    }

    @Test func aBatchAlreadyInOrderKeepsIt() throws {
        let graph = try TaskGraph([Entry(ref: "a"), Entry(ref: "b", after: ["a"]), Entry(after: ["b"]), Entry()])
        #expect(graph.order == [0, 1, 2, 3])
    }

    @Test func parentsMayBeStoredTasksOrBatchesAndRepeatsAreDropped() throws {
        let graph = try TaskGraph([
            Entry(ref: "x"), Entry(after: [Self.stored, "batch:b-17", "x", Self.stored, "x"]),
        ])
        #expect(graph.parents[1] == [.task(TaskID(Self.stored)!), .batch("b-17"), .sibling(0)])
        #expect(graph.children[0] == [1])
    }

    @Test func aThousandChildrenOfOneParentAndAThousandParentsOfOneChild() throws {
        let fanOut = try TaskGraph([Entry(ref: "root")] + (0..<1000).map { _ in Entry(after: ["root"]) })
        #expect(fanOut.order.first == 0 && fanOut.order.count == 1001)
        #expect(fanOut.children[0].count == 1000)
        let refs = (0..<1000).map { "p\($0)" }
        let fanIn = try TaskGraph(refs.map { Entry(ref: $0) } + [Entry(after: refs)])
        #expect(fanIn.order.last == 1000)
        #expect(fanIn.parents[1000].count == 1000)
        #expect(Self.refusal([Entry(after: (0...1000).map { _ in Self.stored })])?.field == "/tasks/0/after")
    }

    @Test func aCycleIsRefusedNamingItsRefs() throws {
        let error = try #require(
            Self.refusal([
                Entry(ref: "a", after: ["c"]), Entry(ref: "b", after: ["a"]), Entry(ref: "c", after: ["b"]),
                Entry(ref: "downstream", after: ["c"]),
            ]))
        #expect(error.field == "/tasks/0/after")
        #expect(error.message.hasSuffix("a -> c -> b -> a"), "\(error.message)")
    }

    @Test func aTaskWaitingForItselfIsRefused() {
        let error = Self.refusal([Entry(ref: "me", after: ["me"])])
        #expect(error?.field == "/tasks/0/after/0")
    }

    @Test func anUnknownParentIsRefusedWhereItIsNamed() {
        let error = Self.refusal([Entry(ref: "a"), Entry(after: ["a", "nobody"])])
        #expect(error?.field == "/tasks/1/after/1")
        #expect(error?.message.contains("nobody") == true)
        #expect(Self.refusal([Entry(after: ["batch:"])])?.field == "/tasks/0/after/0")
    }

    @Test func refsAreUniqueAndWellFormed() {
        #expect(Self.refusal([Entry(ref: "a"), Entry(ref: "a")])?.field == "/tasks/1/ref")
        #expect(Self.refusal([Entry(ref: "no spaces")])?.field == "/tasks/0/ref")
    }
}
