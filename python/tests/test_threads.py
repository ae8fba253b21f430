"""The engine's thread pool counts Python's main thread (which imported the
package) as one of its workers; ops started on other threads must still run
to completion while the main thread waits on something else."""
import threading

import numpy as np

from micrograd_plus import Tensor

from helpers import assert_close


def test_ops_on_another_thread_complete_while_the_main_thread_waits():
    rng = np.random.default_rng(0)
    # Big enough for the product to be shared out across threads.
    a = rng.standard_normal((384, 384)).astype(np.float32)
    b = rng.standard_normal((384, 384)).astype(np.float32)
    result = {}

    def work():
        x = Tensor(a, requires_grad=True)
        (x @ Tensor(b)).sum().backward()
        result["grad"] = x.grad.copy()
        result["product"] = (Tensor(a) @ Tensor(b)).data.copy()

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(timeout=120)
    assert not worker.is_alive(), "an op started on another thread never finished"
    assert_close(result["product"], a.astype(np.float64) @ b, rtol=1e-4, atol=1e-3)
    # d/dx sum(x @ b) = ones @ b.T: every row is b's row sums.
    assert_close(result["grad"], np.tile(b.astype(np.float64).sum(axis=1), (384, 1)), rtol=1e-4, atol=1e-3)
