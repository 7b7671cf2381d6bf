import XCTest
@testable import Kernels

final class KernelsTestsSmoke: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
