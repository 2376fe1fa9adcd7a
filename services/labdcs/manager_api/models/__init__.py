"""Contains all the data models used in inputs/outputs"""

from .account_change import AccountChange
from .account_created import AccountCreated
from .account_in import AccountIn
from .account_out import AccountOut
from .alarm_view import AlarmView
from .audit_entry import AuditEntry
from .battery_cell import BatteryCell
from .body_create_import_api_imports_post import BodyCreateImportApiImportsPost
from .branch import Branch
from .branch_direction import BranchDirection
from .cell import Cell
from .cell_in import CellIn
from .cell_type import CellType
from .cell_type_extra import CellTypeExtra
from .cell_type_in import CellTypeIn
from .cell_type_in_extra import CellTypeInExtra
from .check_in import CheckIn
from .check_in_document_type_0 import CheckInDocumentType0
from .check_out import CheckOut
from .column import Column
from .command_out import CommandOut
from .compatible import Compatible
from .control_api_experiments_experiment_id_action_post_action import (
    ControlApiExperimentsExperimentIdActionPostAction,
)
from .cycle_curves import CycleCurves
from .cycle_stat import CycleStat
from .data_file import DataFile
from .dataset import Dataset
from .dataset_json_data_type_0 import DatasetJsonDataType0
from .envelope import Envelope
from .equipment import Equipment
from .error_body import ErrorBody
from .experiment import Experiment
from .experiment_in import ExperimentIn
from .file_status import FileStatus
from .format_catalog import FormatCatalog
from .format_catalog_formats import FormatCatalogFormats
from .format_catalog_technologies import FormatCatalogTechnologies
from .get_column_battery_api_dataset_id_column_id_get_precision import (
    GetColumnBatteryApiDatasetIdColumnIdGetPrecision,
)
from .harvest_status import HarvestStatus
from .harvested_file import HarvestedFile
from .identity import Identity
from .import_job_out import ImportJobOut
from .job_state import JobState
from .kind import Kind
from .lab_context import LabContext
from .lab_event import LabEvent
from .limits import Limits
from .list_data_files_api_data_files_get_status_type_0 import ListDataFilesApiDataFilesGetStatusType0
from .list_experiments_api_experiments_get_order import ListExperimentsApiExperimentsGetOrder
from .list_experiments_api_experiments_get_sort import ListExperimentsApiExperimentsGetSort
from .list_harvested_files_api_harvested_files_get_status_type_0 import (
    ListHarvestedFilesApiHarvestedFilesGetStatusType0,
)
from .me import Me
from .monitor_row import MonitorRow
from .new_password import NewPassword
from .page_cell import PageCell
from .page_cell_type import PageCellType
from .page_data_file import PageDataFile
from .page_experiment import PageExperiment
from .page_harvested_file import PageHarvestedFile
from .page_protocol_doc import PageProtocolDoc
from .page_station import PageStation
from .password_change import PasswordChange
from .plot_api_experiments_experiment_id_plot_get_field_type_0_item import (
    PlotApiExperimentsExperimentIdPlotGetFieldType0Item,
)
from .plot_data import PlotData
from .problem import Problem
from .problem_severity import ProblemSeverity
from .progress import Progress
from .protocol_doc import ProtocolDoc
from .protocol_doc_document import ProtocolDocDocument
from .protocol_in import ProtocolIn
from .protocol_in_document_type_0 import ProtocolInDocumentType0
from .protocol_stored import ProtocolStored
from .quantity import Quantity
from .queue_health_api_queue_health_get_response_queue_health_api_queue_health_get import (
    QueueHealthApiQueueHealthGetResponseQueueHealthApiQueueHealthGet,
)
from .role import Role
from .rule_view import RuleView
from .scope import Scope
from .sensor_view import SensorView
from .sensor_view_values import SensorViewValues
from .series_out import SeriesOut
from .station import Station
from .station_channel import StationChannel
from .station_view import StationView
from .status import Status
from .team import Team
from .team_change import TeamChange
from .team_change_visibility import TeamChangeVisibility
from .team_in import TeamIn
from .team_in_visibility import TeamInVisibility
from .team_visibility import TeamVisibility
from .technology import Technology
from .technology_field import TechnologyField
from .token_created import TokenCreated
from .token_in import TokenIn
from .token_out import TokenOut
from .user import User

__all__ = (
    "AccountChange",
    "AccountCreated",
    "AccountIn",
    "AccountOut",
    "AlarmView",
    "AuditEntry",
    "BatteryCell",
    "BodyCreateImportApiImportsPost",
    "Branch",
    "BranchDirection",
    "Cell",
    "CellIn",
    "CellType",
    "CellTypeExtra",
    "CellTypeIn",
    "CellTypeInExtra",
    "CheckIn",
    "CheckInDocumentType0",
    "CheckOut",
    "Column",
    "CommandOut",
    "Compatible",
    "ControlApiExperimentsExperimentIdActionPostAction",
    "CycleCurves",
    "CycleStat",
    "DataFile",
    "Dataset",
    "DatasetJsonDataType0",
    "Envelope",
    "Equipment",
    "ErrorBody",
    "Experiment",
    "ExperimentIn",
    "FileStatus",
    "FormatCatalog",
    "FormatCatalogFormats",
    "FormatCatalogTechnologies",
    "GetColumnBatteryApiDatasetIdColumnIdGetPrecision",
    "HarvestStatus",
    "HarvestedFile",
    "Identity",
    "ImportJobOut",
    "JobState",
    "Kind",
    "LabContext",
    "LabEvent",
    "Limits",
    "ListDataFilesApiDataFilesGetStatusType0",
    "ListExperimentsApiExperimentsGetOrder",
    "ListExperimentsApiExperimentsGetSort",
    "ListHarvestedFilesApiHarvestedFilesGetStatusType0",
    "Me",
    "MonitorRow",
    "NewPassword",
    "PageCell",
    "PageCellType",
    "PageDataFile",
    "PageExperiment",
    "PageHarvestedFile",
    "PageProtocolDoc",
    "PageStation",
    "PasswordChange",
    "PlotApiExperimentsExperimentIdPlotGetFieldType0Item",
    "PlotData",
    "Problem",
    "ProblemSeverity",
    "Progress",
    "ProtocolDoc",
    "ProtocolDocDocument",
    "ProtocolIn",
    "ProtocolInDocumentType0",
    "ProtocolStored",
    "Quantity",
    "QueueHealthApiQueueHealthGetResponseQueueHealthApiQueueHealthGet",
    "Role",
    "RuleView",
    "Scope",
    "SensorView",
    "SensorViewValues",
    "SeriesOut",
    "Station",
    "StationChannel",
    "StationView",
    "Status",
    "Team",
    "TeamChange",
    "TeamChangeVisibility",
    "TeamIn",
    "TeamInVisibility",
    "TeamVisibility",
    "Technology",
    "TechnologyField",
    "TokenCreated",
    "TokenIn",
    "TokenOut",
    "User",
)
