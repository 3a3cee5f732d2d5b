"""nst.fast.outputs: the loss log across resumed runs, the plot, the model file and where it is found."""

import io
import stat

import numpy as np
import pytest
from PIL import Image

from nst.fast import network
from nst.fast import outputs as fast_outputs


def losses(total):
    return {"total": total, "content": total / 2, "style": total / 4, "total_variation": total / 4}


def test_the_loss_log_round_trips_and_a_resumed_run_keeps_only_checkpointed_steps(tmp_path):
    log = fast_outputs.LossLog(tmp_path)
    for step in range(1, 6):
        log.add(step, losses(100.0 / step))
    csv_path, plot_path = log.write()
    assert csv_path.read_text().splitlines()[0] == "step,total,content,style,total_variation"
    rows = fast_outputs.read_loss_log(csv_path)
    assert [row["step"] for row in rows] == [1, 2, 3, 4, 5]
    assert rows[3] == {"step": 4, "total": 25.0, "content": 12.5, "style": 6.25, "total_variation": 6.25}
    # The run stopped after step 5 but its last checkpoint was step 3: steps 4 and 5 will be redone.
    resumed = fast_outputs.LossLog(tmp_path, start_step=3)
    assert [row["step"] for row in resumed.rows] == [1, 2, 3]
    resumed.add(4, losses(7.0))
    resumed.write()
    assert [row["total"] for row in fast_outputs.read_loss_log(csv_path)][-1] == 7.0
    with Image.open(plot_path) as plot:
        assert plot.format == "PNG" and plot.size == (800, 500)


def test_a_missing_or_damaged_log_starts_afresh(tmp_path):
    assert fast_outputs.read_loss_log(tmp_path / "losses.csv") == []
    (tmp_path / "losses.csv").write_text("step,total\n1,oops\n")
    assert fast_outputs.LossLog(tmp_path, start_step=10).rows == []


def test_the_plot_copes_with_no_rows_and_zero_losses():
    for rows in ([], [{"step": 1, "total": 1.0, "content": 1.0, "style": 0.0, "total_variation": 0.0}]):
        with Image.open(io.BytesIO(fast_outputs.loss_plot_png(rows))) as plot:
            assert plot.format == "PNG"


def test_the_model_is_saved_atomically_and_found_from_its_folder(tmp_path):
    model = network.build_transform_net(1 / 32)
    path = fast_outputs.save_model(model, tmp_path)
    assert path == tmp_path / "transform_net.keras"
    assert [item.name for item in tmp_path.iterdir()] == ["transform_net.keras"]  # no temporary file left
    assert fast_outputs.find_model_file(tmp_path) == path
    assert fast_outputs.find_model_file(path) == path
    pixels = np.full((1, 8, 8, 3), 100.0, np.float32)
    np.testing.assert_array_equal(network.load_transform_net(path)(pixels).numpy(), model(pixels).numpy())


def test_the_model_file_gets_the_permissions_the_umask_gives(tmp_path, umask_027):
    path = fast_outputs.save_model(network.build_transform_net(1 / 32), tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == umask_027


def test_finding_a_model_that_is_not_there(tmp_path):
    with pytest.raises(network.TransformNetError, match="no transform_net.keras in this folder"):
        fast_outputs.find_model_file(tmp_path)
    with pytest.raises(network.TransformNetError, match="no such file or folder"):
        fast_outputs.find_model_file(tmp_path / "missing.keras")


def test_the_record_is_json_that_reads_back_equal(tmp_path):
    import json

    record = {"config": {"steps": 3, "style_layers": {"conv1_1": 1.0}}, "replicas": 2, "weights": "random (é)"}
    path = fast_outputs.write_record(tmp_path, record)
    assert path.name == "training_config.json"
    assert json.loads(path.read_text(encoding="utf-8")) == record
