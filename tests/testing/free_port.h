// Free loopback TCP ports for tests that start real servers.
#ifndef ETHSCAN_TESTS_TESTING_FREE_PORT_H_
#define ETHSCAN_TESTS_TESTING_FREE_PORT_H_

namespace ethscan::testing {

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0 and released).
int PickFreePort();

}  // namespace ethscan::testing

#endif  // ETHSCAN_TESTS_TESTING_FREE_PORT_H_
