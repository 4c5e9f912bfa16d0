import TaskgateCore
import Testing

@testable import TaskgateWorker

/// Several fetchers share the idle slots: together they never claim for more slots than are idle.
@Suite(.dedicatedThreads) struct ClaimHandoffTests {
    private func task(_ n: Int) -> ClaimedTask {
        let id = TaskID.generate(queue: .default)
        let record = TaskRecord(
            id: id, submission: TaskSubmission(payload: .integer(n)), payload: String(n),
            storedAt: .init(milliseconds: 0))
        return ClaimedTask(record: record, lease: .fresh(for: id))
    }

    /// Starts `count` slots; the tests then demand until all of them wait in `next()`.
    private func idleSlots(_ count: Int, on handoff: ClaimHandoff) async -> [Task<ClaimedTask?, Never>] {
        (0..<count).map { _ in Task { await handoff.next() } }
    }

    @Test func aSecondFetcherOnlyGetsSlotsTheFirstDidNotFill() async {
        let handoff = ClaimHandoff()
        let slots = await idleSlots(3, on: handoff)
        // The first fetcher is promised every idle slot once all three wait.
        var first = 0
        while first < 3 {
            if first > 0 {
                _ = await handoff.deliver([], promised: first)
                await Task.yield()
            }
            first = await handoff.demand()
        }
        // A second fetcher now finds nothing unpromised and waits.
        let second = Task { await handoff.demand() }
        // The first claim comes back with one task only (the queue ran dry): two slots are free again, and
        // they go to the waiting fetcher, not more.
        let one = task(1)
        #expect(await handoff.deliver([one], promised: first).isEmpty)
        #expect(await second.value == 2)
        await handoff.close()
        let values = await withTaskGroup(of: ClaimedTask?.self) { group in
            for slot in slots { group.addTask { await slot.value } }
            return await group.reduce(into: [ClaimedTask?]()) { $0.append($1) }
        }
        // Exactly one slot got the one task; the others were released by close().
        #expect(values.compactMap { $0 } == [one])
    }

    @Test func aFetcherThatFailedGivesItsPromiseBack() async {
        let handoff = ClaimHandoff()
        let slots = await idleSlots(2, on: handoff)
        var promised = 0
        while promised < 2 {
            if promised > 0 {
                _ = await handoff.deliver([], promised: promised)
                await Task.yield()
            }
            promised = await handoff.demand()
        }
        let other = Task { await handoff.demand() }
        // The claim failed: nothing delivered, the promise returns and the other fetcher gets both slots.
        #expect(await handoff.deliver([], promised: promised).isEmpty)
        #expect(await other.value == 2)
        await handoff.close()
        for slot in slots { #expect(await slot.value == nil) }
    }

    @Test func closedHandoffReleasesFetchersAndReturnsUndeliveredTasks() async {
        let handoff = ClaimHandoff()
        let fetcher = Task { await handoff.demand() }
        await handoff.close()
        #expect(await fetcher.value == 0)
        let leftover = task(7)
        #expect(await handoff.deliver([leftover], promised: 0) == [leftover])
        #expect(await handoff.next() == nil)
    }
}
