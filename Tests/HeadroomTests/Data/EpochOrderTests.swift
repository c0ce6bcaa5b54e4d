import Testing
@testable import HeadroomData

@Suite struct EpochOrderTests {
    @Test func anEpochIsAPermutationFixedBySeedAndEpoch() {
        let order = EpochOrder(samples: 50, seed: 7, epoch: 3)
        #expect(order.indices.sorted() == Array(0..<50))
        #expect(order == EpochOrder(samples: 50, seed: 7, epoch: 3))
        #expect(order != EpochOrder(samples: 50, seed: 7, epoch: 4))
        #expect(order != EpochOrder(samples: 50, seed: 8, epoch: 3))
        let excluded = EpochOrder(samples: 50, seed: 7, epoch: 3, excluded: [4, 9])
        #expect(excluded.indices.count == 48 && !excluded.indices.contains(4) && !excluded.indices.contains(9))
    }

    @Test func stepsAreWholeAndDisjoint() {
        let order = EpochOrder(samples: 50, seed: 1, epoch: 0)
        #expect(order.stepCount(effectiveBatch: 16) == 3)  // 2 samples wait for another epoch
        let steps = (0..<3).map { Array(order.samples(ofStep: $0, effectiveBatch: 16)) }
        #expect(Set(steps.joined()).count == 48)
        // Resuming at step 2 gives the rest of the same order.
        #expect(Array(order.indices[32..<48]) == steps[2])
    }

    @Test(arguments: [1, 2, 3, 4, 5])
    func ranksShareEachStepExactlyOnce(worldSize: Int) {
        let order = EpochOrder(samples: 64, seed: 2, epoch: 1)
        for step in 0..<order.stepCount(effectiveBatch: 14) {
            let shares = (0..<worldSize).map { Array(order.samples(ofStep: step, effectiveBatch: 14, rank: $0, worldSize: worldSize)) }
            #expect(shares.flatMap { $0 } == Array(order.samples(ofStep: step, effectiveBatch: 14)))
            let sizes = shares.map(\.count)
            #expect(sizes.max()! - sizes.min()! <= 1)
            #expect(sizes == sizes.sorted(by: >))  // the larger shares go to the first ranks
        }
    }
}
