"""Side panels: the metrics of this recording's predictions against its reference."""

from __future__ import annotations

import math

from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.session.session import Session


class MetricsPanel(QWidget):
    """ER, F, LE, LR, SELD (DCASE 2020) and a per-class table, when both label sets exist."""

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.scores = None
        self.summary = QLabel("Metrics appear when a recording has both reference labels and predictions.")
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, 6)
        self.table.setHorizontalHeaderLabels(["class", "F", "LE (°)", "LR", "Nref", "Nsys"])
        self.table.verticalHeader().setVisible(False)
        self.export_button = QPushButton("Export CSV...")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self._export_dialog)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        # label edits come at mouse-move rate during a drag: score once the labels rest
        from PySide6.QtCore import QTimer

        self._rescore = QTimer(self)
        self._rescore.setSingleShot(True)
        self._rescore.setInterval(300)
        self._rescore.timeout.connect(self.refresh)
        session.reference_changed.connect(lambda _e: self._rescore.start())
        session.predictions_changed.connect(lambda _e: self.refresh())

    def refresh(self) -> None:
        from core.metrics.seld import SeldScorer

        s = self.session
        if s.reference is None or s.predictions is None or s.recording is None:
            self.scores = None
            self.summary.setText("Metrics appear when a recording has both reference labels and predictions.")
            self.table.setRowCount(0)
            self.export_button.setEnabled(False)
            return
        scorer = SeldScorer("dcase2020", n_classes=s.classes)
        n_frames = max(1, math.ceil(s.duration_s * 10 - 1e-9))
        scorer.update(s.reference, s.predictions, n_frames=n_frames, name="this recording")
        self.scores = scores = scorer.result()
        self.summary.setText(
            f"DCASE 2020 metrics of this recording ({n_frames} label frames): ER {scores.ER:.3f}  "
            f"F {100 * scores.F:.1f} %  LE {scores.LE:.1f}°  LR {100 * scores.LR:.1f} %  SELD {scores.SELD:.3f}"
        )
        rows = [c for c in scores.per_class if c.Nref or c.Nsys]
        self.table.setRowCount(len(rows))
        for i, c in enumerate(rows):
            # no reference/prediction pair was matched: the scorer's LE of 180 means "undefined"
            le = f"{c.LE:.1f}" if c.DE_TP else "–"
            values = [c.name, f"{c.F:.3f}", le, f"{c.LR:.3f}", str(c.Nref), str(c.Nsys)]
            for j, v in enumerate(values):
                self.table.setItem(i, j, QTableWidgetItem(v))
        self.table.resizeColumnsToContents()
        self.export_button.setEnabled(True)

    def _export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export metrics", "metrics.csv", "CSV (*.csv)")
        if path:
            self.export_csv(path)

    def export_csv(self, path) -> None:
        """Overall and per-class rows, written atomically."""
        import csv
        import io

        from core.common.atomic import atomic_write_text

        if self.scores is None:
            return
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["scope", "name", "ER", "F", "LE", "LR", "SELD", "Nref", "Nsys", "TP", "FP", "FN"])
        sc = self.scores
        w.writerow(
            ["overall", "all", sc.ER, sc.F, sc.LE, sc.LR, sc.SELD, sc.Nref, sc.Nsys, sc.TP, sc.FP, sc.FN]
        )
        for c in sc.per_class:
            w.writerow(["class", c.name, c.ER, c.F, c.LE, c.LR, c.SELD, c.Nref, c.Nsys, c.TP, c.FP, c.FN])
        atomic_write_text(path, buf.getvalue())


class FileListPanel(QWidget):
    """The recordings of a folder (DCASE layouts understood); double-click opens one.

    Several can be selected (Shift/Ctrl-click); "Run model on all" (``on_run_all``) runs the
    model on the selected recordings, or on all when none or one is selected.
    """

    def __init__(self, open_entry, parent: QWidget | None = None, on_run_all=None):
        from PySide6.QtWidgets import QAbstractItemView, QTreeWidget

        super().__init__(parent)
        self.open_entry = open_entry
        self.entries = []
        self.folder_label = QLabel("Drop a folder here, or File > Open folder.")
        self.folder_label.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["recording", "format", "fold", "labels"])
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.itemActivated.connect(self._on_activated)
        self.run_all_button = QPushButton("Run model on all")
        self.run_all_button.setToolTip(
            "Run the model on the selected recordings (all of them when at most one is selected); "
            "the Batch tab shows the progress and the results"
        )
        self.run_all_button.setEnabled(False)
        if on_run_all is not None:
            self.run_all_button.clicked.connect(lambda: on_run_all())
        layout = QVBoxLayout(self)
        layout.addWidget(self.folder_label)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.run_all_button)

    def set_folder(self, folder) -> int:
        """List ``folder`` (raises SeldError); returns the number of recordings."""
        from core.data.browse import browse

        self._fill(browse(folder))
        self.folder_label.setText(f"{folder}: {len(self.entries)} recordings")
        return len(self.entries)

    def set_files(self, paths) -> int:
        """List the recordings ``paths`` (dropped together); their labels found as for a folder."""
        from pathlib import Path

        from core.data.browse import BrowseEntry
        from core.data.dataset import fold_of
        from core.io.audio import infer_format
        from seldgui.recording_loader import sibling_labels

        entries = [
            BrowseEntry(Path(p), infer_format(Path(p)), fold_of(Path(p).stem), sibling_labels(Path(p)))
            for p in paths
        ]
        self._fill(sorted(entries, key=lambda e: (e.fmt or "", e.name)))
        self.folder_label.setText(f"{len(self.entries)} recordings dropped")
        return len(self.entries)

    def _fill(self, entries) -> None:
        from PySide6.QtWidgets import QTreeWidgetItem

        self.entries = entries
        self.tree.clear()
        for i, e in enumerate(self.entries):
            item = QTreeWidgetItem(
                [
                    e.name,
                    (e.fmt or "?").upper(),
                    "" if e.fold is None else str(e.fold),
                    "yes" if e.labels else "",
                ]
            )
            item.setData(0, 256, i)  # Qt.UserRole
            item.setToolTip(0, str(e.path))
            self.tree.addTopLevelItem(item)
        for col in range(4):
            self.tree.resizeColumnToContents(col)
        self.run_all_button.setEnabled(bool(self.entries))

    def selected_entries(self) -> list:
        """The selected recordings, in list order; all of them when at most one is selected."""
        rows = sorted(item.data(0, 256) for item in self.tree.selectedItems())
        if len(rows) <= 1:
            return list(self.entries)
        return [self.entries[i] for i in rows]

    def _on_activated(self, item, _column) -> None:
        self.open_entry(self.entries[item.data(0, 256)])
