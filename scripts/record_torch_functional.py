"""Records PyTorch's values for four small functional pieces of issue 14
into the fixture that crates/micrograd-plus/tests/torch_functional.rs
replays on our engine:

  * F.cosine_similarity (dim, eps; broadcasting, zero and short vectors,
    where PyTorch 2.x clamps each norm at eps in place under no_grad, so
    the gradient there is PyTorch's and not the derivative);
  * F.dropout in the cases with a known result (evaluation, p = 0, p = 1)
    and the probabilities it refuses (the random masks themselves are the
    engine's own generator's; tests/torch_functional.rs checks them apart);
  * F.embedding with padding_idx (positive, negative; that row's gradient
    is 0 while its values are read) and the indices it refuses;
  * F.scaled_dot_product_attention's scale argument (None, positive,
    negative, 0; with and without is_causal).

It reuses record_torch_ops_extra.py's case recorder, so the file format is
that fixture's: {"torch_version", "cases": [case, ...]} with
  case = {"name", "op", "args": {...}, "inputs": [{"shape", "dtype", "data", "grad"}],
          "torch": {"error": message}
                 | {"outputs": [{"shape", "dtype", "value"}], "upstream": [...], "grads": [... | null]}}
Embedding ids are recorded as float inputs holding whole numbers (the
engine has no integer dtype) and converted with .long() for PyTorch. Run
with PyTorch 2.15 (CPU); the output is deterministic (each case's random
data comes from a generator seeded by the case's name):

  python scripts/record_torch_functional.py > crates/micrograd-plus/tests/data/torch_functional.json
"""

import torch
import torch.nn.functional as F

from record_torch_ops_extra import both, case, const, randn, write_fixture


def cosine_similarity_cases():
    cos = lambda a, b, dim, eps: F.cosine_similarity(a, b, dim, eps)
    for dim in [1, 0, -1]:
        both(f"dim {dim}", "cosine_similarity", {"dim": dim, "eps": 1e-8},
             [randn((3, 4)), randn((3, 4))], cos)
    both("broadcast", "cosine_similarity", {"dim": 1, "eps": 1e-8},
         [randn((3, 4)), randn((4,))], cos)
    both("broadcast both", "cosine_similarity", {"dim": -1, "eps": 1e-8},
         [randn((3, 1, 4)), randn((2, 4))], cos)
    both("3-d dim 1", "cosine_similarity", {"dim": 1, "eps": 1e-8},
         [randn((2, 3, 4)), randn((2, 3, 4))], cos)
    both("1-d", "cosine_similarity", {"dim": 0, "eps": 1e-8}, [randn((5,)), randn((5,))], cos)
    both("0-d", "cosine_similarity", {"dim": 0, "eps": 1e-8}, [randn(()), randn(())], cos)
    both("zero row", "cosine_similarity", {"dim": 1, "eps": 1e-8},
         [const([[0.0, 0.0, 0.0], [3.0, -4.0, 0.0]]), randn((2, 3))], cos)
    both("norm below eps", "cosine_similarity", {"dim": 1, "eps": 0.5},
         [const([[0.1, 0.0], [0.3, 0.2], [2.0, 1.0]]), const([[3.0, 4.0], [1.0, 0.25], [0.2, 0.1]])],
         cos)
    both("empty rows", "cosine_similarity", {"dim": 1, "eps": 1e-8},
         [randn((0, 3)), randn((0, 3))], cos)
    both("empty vectors", "cosine_similarity", {"dim": 1, "eps": 1e-8},
         [randn((2, 0)), randn((2, 0))], cos)
    case("dim out of range", "cosine_similarity", {"dim": 2, "eps": 1e-8},
         [randn((2, 3)), randn((2, 3))], cos)
    case("shapes", "cosine_similarity", {"dim": 1, "eps": 1e-8},
         [randn((2, 3)), randn((4,))], cos)
    case("negative eps", "cosine_similarity", {"dim": 1, "eps": -1.0},
         [randn((2, 3)), randn((2, 3))], cos)


def dropout_cases():
    drop = lambda x, p, training: F.dropout(x, p, training)
    both("evaluation", "dropout", {"p": 0.5, "training": False}, [randn((3, 4))], drop)
    both("p 0", "dropout", {"p": 0.0, "training": True}, [randn((3, 4))], drop)
    both("p 1", "dropout", {"p": 1.0, "training": True}, [randn((3, 4))], drop)
    for p in [1.5, -0.1]:
        for training in [True, False]:
            case(f"p {p} training {training}", "dropout", {"p": p, "training": training},
                 [randn((3,))], drop)


def embedding_cases():
    emb = lambda ids, w, padding_idx: F.embedding(ids.long(), w, padding_idx)
    ids = const([[0.0, 4.0, 2.0], [4.0, 1.0, 0.0]])
    for pad in [None, 0, 4, -1, -5]:
        both(f"padding_idx {pad}", "embedding", {"padding_idx": pad},
             [ids, randn((5, 3))], emb, grad=[False, True])
    both("1-d ids", "embedding", {"padding_idx": 2},
         [const([2.0, 2.0, 3.0]), randn((4, 2))], emb, grad=[False, True])
    both("0-d id", "embedding", {"padding_idx": None}, [const(1.0), randn((4, 2))], emb,
         grad=[False, True])
    for name, pad, index in [("padding_idx 5", 5, ids), ("padding_idx -6", -6, ids),
                             ("id out of range", None, const([0.0, 5.0])),
                             ("negative id", None, const([-1.0, 0.0]))]:
        case(name, "embedding", {"padding_idx": pad}, [index, randn((5, 3))], emb,
             grad=[False, True])


def attention_cases():
    def sdpa(q, k, v, scale, is_causal):
        return F.scaled_dot_product_attention(q, k, v, is_causal=is_causal, scale=scale)
    for scale in [None, 0.3, -0.5, 0.0, 2.0]:
        for causal in [False, True]:
            both(f"scale {scale} causal {causal}", "scaled_dot_product_attention",
                 {"scale": scale, "is_causal": causal},
                 [randn((2, 2, 3, 4)), randn((2, 2, 3, 4)), randn((2, 2, 3, 5))], sdpa)
    both("scale 0.25 fewer queries", "scaled_dot_product_attention",
         {"scale": 0.25, "is_causal": False},
         [randn((1, 2, 4)), randn((1, 5, 4)), randn((1, 5, 3))], sdpa)


def main():
    cosine_similarity_cases()
    dropout_cases()
    embedding_cases()
    attention_cases()
    write_fixture()


if __name__ == "__main__":
    main()
