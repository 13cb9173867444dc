"""core.resnet is torchvision's ResNet-18 without the torchvision import:
same parameters, same initial weights from a seed, same outputs."""
import pytest
import torch

from core.resnet import resnet18

tv_models = pytest.importorskip("torchvision.models", reason="torchvision (a dev dependency) is absent")


def test_same_state_dict_layout_and_initial_weights_from_a_seed():
    torch.manual_seed(7)
    ours = resnet18(4).state_dict()
    torch.manual_seed(7)
    ref = tv_models.resnet18(weights=None, num_classes=4).state_dict()
    assert list(ours) == list(ref)
    for k in ref:
        assert ours[k].shape == ref[k].shape, k
        assert torch.equal(ours[k], ref[k]), k


@pytest.mark.parametrize("train", [False, True])
def test_same_outputs_and_gradients_from_the_same_weights(train):
    torch.manual_seed(0)
    ref = tv_models.resnet18(weights=None, num_classes=4)
    with torch.no_grad():   # non-trivial BatchNorm statistics
        for m in ref.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    ours = resnet18(4)
    ours.load_state_dict(ref.state_dict())
    ours.train(train), ref.train(train)
    x = torch.rand(3, 3, 64, 64)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = ours(xa), ref(xb)
    assert torch.equal(ya, yb)
    ya.sum().backward(), yb.sum().backward()
    assert torch.equal(xa.grad, xb.grad)



def test_folding_batchnorm_keeps_the_function():
    from core.resnet import fold_batchnorm, resnet18

    torch.manual_seed(0)
    net = resnet18(4)
    for m in net.modules():               # statistics a trained network would have, not 0 and 1
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    net.eval()
    x = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        before = net(x)
        fold_batchnorm(net)
        after = net(x)
    assert net.batchnorm_folded and not any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    assert torch.allclose(before, after, rtol=1e-4, atol=1e-4), (before - after).abs().max()
