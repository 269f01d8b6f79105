/** HTTP headers the model server and the gateway agree on. Pure constants, shared by both sides. */

/**
 * Set by a draining model server on the 503 it answers without running the request; the gateway
 * sends such a request to another replica instead of passing the 503 on.
 */
export const DRAINING_HEADER = 'x-wharf-draining';
