"""The example plugin's own tests, written with protein-zoo's test kit."""

from zoo_knn import plugin

from zoo.testing import check_model


def test_knn_passes_the_kit():
    check_model(plugin.make_knn, {"k": 5, "weights": "distance"}, picklable=True, min_spearman=0.3)


def test_fixtures_are_available(zoo_tiny_task, zoo_check_model):
    pred = zoo_check_model(plugin.make_knn, {"k": 3, "weights": "uniform"}, task=zoo_tiny_task)
    assert pred.shape == (len(zoo_tiny_task.test),)


def test_registered_through_the_host(zoo_register):
    registry = zoo_register(plugin, name="knn-under-test")
    assert registry.models["knn"].plugin == "knn-under-test"
    assert registry.models["knn"].spec.defaults() == {"k": 10, "weights": "distance"}


def test_k_larger_than_training_set_is_capped(zoo_tiny_task):
    model = plugin.make_knn(task="t", seed=0, profile="default", options={"k": 10_000, "weights": "uniform"})
    model.fit(zoo_tiny_task.train, zoo_tiny_task.valid)
    assert model.predict(zoo_tiny_task.test.sequences).shape == (len(zoo_tiny_task.test),)
