/// The dependencies of one `POST /tasks/batch`, checked before anything is stored: every `after` entry
/// resolved (a task id, another task's `ref` in the same batch, or `batch:<id>`), no task waiting for itself,
/// no cycle, and an order in which each task comes after its siblings' parents.
///
/// Errors are ``TaskValidationError``s that name the place as a JSON Pointer (`/tasks/3/after/0`) and, for a
/// cycle, the refs along it, so the whole batch can be refused as a `422` with nothing stored.
public struct TaskGraph: Sendable, Equatable {
    /// One task's part of the request: its `ref` (if any) and its `after` entries, as given.
    public struct Entry: Sendable, Equatable {
        /// The name other tasks of the batch use for it in their `after`.
        public var ref: String?
        /// What it waits for, as given.
        public var after: [String]

        /// Creates an entry.
        public init(ref: String? = nil, after: [String] = []) {
            self.ref = ref
            self.after = after
        }
    }

    /// Each task's parents, resolved, in the order given (duplicates dropped).
    public let parents: [[ParentReference]]
    /// The tasks' positions in an order where every sibling parent comes before its children.
    public let order: [Int]
    /// Each task's children within the batch (positions), in the batch's order.
    public let children: [[Int]]

    /// The rule a `ref` follows, for error messages.
    public static let refRule = "a ref is 1 to 64 characters from [A-Za-z0-9._-]"

    /// Resolves and checks `entries` (one per task of the batch, in its order).
    public init(_ entries: [Entry]) throws(TaskValidationError) {
        var positions: [String: Int] = [:]
        for (index, entry) in entries.enumerated() {
            guard let ref = entry.ref else { continue }
            guard QueueName(ref) != nil else {
                throw TaskValidationError(.invalidField, field: "/tasks/\(index)/ref", Self.refRule + ", got \(ref)")
            }
            if let earlier = positions[ref] {
                throw TaskValidationError(
                    .invalidField, field: "/tasks/\(index)/ref", "ref \(ref) is taken already by /tasks/\(earlier)")
            }
            positions[ref] = index
        }
        var parents: [[ParentReference]] = []
        var children = [[Int]](repeating: [], count: entries.count)
        parents.reserveCapacity(entries.count)
        for (index, entry) in entries.enumerated() {
            guard entry.after.count <= ParentReference.maxParents else {
                throw TaskValidationError(
                    .invalidField, field: "/tasks/\(index)/after",
                    "after names at most \(ParentReference.maxParents) parents, got \(entry.after.count)")
            }
            var resolved: [ParentReference] = []
            var seen = Set<ParentReference>()
            for (slot, text) in entry.after.enumerated() {
                let field = "/tasks/\(index)/after/\(slot)"
                let parent = try Self.resolve(text, positions: positions, field: field)
                if case .sibling(let position) = parent, position == index {
                    throw TaskValidationError(.invalidField, field: field, "a task cannot wait for itself (\(text))")
                }
                guard seen.insert(parent).inserted else { continue }
                resolved.append(parent)
                if case .sibling(let position) = parent { children[position].append(index) }
            }
            parents.append(resolved)
        }
        self.parents = parents
        self.children = children
        self.order = try Self.topologicalOrder(parents: parents, children: children, entries: entries)
    }

    private static func resolve(
        _ text: String, positions: [String: Int], field: String
    ) throws(TaskValidationError) -> ParentReference {
        if text.hasPrefix("batch:") {
            let id = String(text.dropFirst("batch:".count))
            guard BatchRecord.isValidID(id) else {
                throw TaskValidationError(.invalidField, field: field, "batch:<id> names no batch: \(text)")
            }
            return .batch(id)
        }
        if let position = positions[text] { return .sibling(position) }
        if let id = TaskID(text) { return .task(id) }
        throw TaskValidationError(
            .invalidField, field: field,
            "\(text) is neither a ref of this batch, a task id (<queue>.<32 hex>) nor batch:<id>")
    }

    /// Kahn's algorithm over the sibling edges, taking the lowest position first, so a batch already in order
    /// keeps it; a cycle is refused naming its refs in order.
    private static func topologicalOrder(
        parents: [[ParentReference]], children: [[Int]], entries: [Entry]
    ) throws(TaskValidationError) -> [Int] {
        var waiting = parents.map { list in
            list.reduce(0) { count, parent in
                if case .sibling = parent { return count + 1 }
                return count
            }
        }
        var ready = waiting.indices.filter { waiting[$0] == 0 }.reversed().map { $0 }
        var order: [Int] = []
        order.reserveCapacity(parents.count)
        while let next = ready.popLast() {
            order.append(next)
            var freed: [Int] = []
            for child in children[next] {
                waiting[child] -= 1
                if waiting[child] == 0 { freed.append(child) }
            }
            // Keep `ready` sorted high to low, so popLast takes the lowest position.
            if !freed.isEmpty { ready = (ready + freed).sorted(by: >) }
        }
        guard order.count == parents.count else {
            let cycle = Self.cycle(parents: parents, stuck: Set(waiting.indices.filter { waiting[$0] > 0 }))
            let names = cycle.map { entries[$0].ref ?? "/tasks/\($0)" }
            throw TaskValidationError(
                .invalidField, field: "/tasks/\(cycle[0])/after",
                "the tasks wait for each other in a cycle: " + (names + [names[0]]).joined(separator: " -> "))
        }
        return order
    }

    /// One cycle among the tasks `stuck` (each waits for another stuck one): follow parents until one repeats.
    private static func cycle(parents: [[ParentReference]], stuck: Set<Int>) -> [Int] {
        var path: [Int] = []
        var onPath: [Int: Int] = [:]
        var current = stuck.min()!
        while onPath[current] == nil {
            onPath[current] = path.count
            path.append(current)
            current = parents[current].lazy.compactMap { parent -> Int? in
                if case .sibling(let position) = parent, stuck.contains(position) { return position }
                return nil
            }.first!
        }
        // Written in the direction of waiting: each task, then the one it waits for.
        return Array(path[onPath[current]!...])
    }
}
